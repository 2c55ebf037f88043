package dev.fleetserver.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Samples a JVM's heap from outside with {@code jstat -gc <pid> <interval>}, which reads the JVM's performance
 * counters from shared memory: it needs nothing from the sampled JVM's threads, so it keeps sampling a server that
 * is busy, collecting garbage or about to run out of memory. Heap used = survivor + eden + old used
 * ({@code S0U + S1U + EU + OU}); the old generation alone is also kept, as with G1 large request buffers (humongous
 * objects) go there directly. Ends when the JVM does.
 */
final class HeapSampler implements AutoCloseable {
    /** One sample, bytes. */
    record Sample(long used, long old) {
    }

    private final Child jstat;
    private final long startNanos = System.nanoTime();
    private String header;
    private long peakUsed = -1;
    private long peakOld = -1;
    private long windowPeakUsed = -1;
    private long windowPeakOld = -1;
    private long samples;
    /** Peak heap used per second since start, MB. */
    private final List<Long> perSecondMb = new ArrayList<>();

    HeapSampler(long pid, int intervalMillis, Path log) throws IOException {
        String bin = Path.of(System.getProperty("java.home"), "bin", "jstat").toString();
        this.jstat = new Child("jstat-" + pid, List.of(bin, "-gc", Long.toString(pid), Integer.toString(intervalMillis)),
                log, this::onLine);
    }

    private synchronized void onLine(String line) {
        if (line.startsWith("[err]") || line.isBlank()) {
            return;
        }
        if (line.trim().startsWith("S0C")) {
            header = line;
            return;
        }
        if (header == null) {
            return;
        }
        Sample s;
        try {
            s = parse(header, line);
        } catch (RuntimeException e) {
            return;
        }
        samples++;
        peakUsed = Math.max(peakUsed, s.used());
        peakOld = Math.max(peakOld, s.old());
        windowPeakUsed = Math.max(windowPeakUsed, s.used());
        windowPeakOld = Math.max(windowPeakOld, s.old());
        int second = (int) TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
        while (perSecondMb.size() <= second) {
            perSecondMb.add(0L);
        }
        perSecondMb.set(second, Math.max(perSecondMb.get(second), s.used() >> 20));
    }

    /** One {@code jstat -gc} line under its header; the values are KB. */
    static Sample parse(String header, String line) {
        String[] names = header.trim().split("\\s+");
        String[] values = line.trim().split("\\s+");
        if (names.length != values.length) {
            throw new IllegalArgumentException("jstat line does not match its header: " + line);
        }
        double used = 0;
        double old = 0;
        for (int i = 0; i < names.length; i++) {
            switch (names[i]) {
                case "S0U", "S1U", "EU" -> used += Double.parseDouble(values[i]);
                case "OU" -> {
                    old = Double.parseDouble(values[i]);
                    used += old;
                }
                default -> {
                }
            }
        }
        return new Sample((long) (used * 1024), (long) (old * 1024));
    }

    /** Peak heap used and old generation since the last call (or the start), and starts a new window. */
    synchronized Sample takeWindow() {
        Sample s = new Sample(windowPeakUsed, windowPeakOld);
        windowPeakUsed = -1;
        windowPeakOld = -1;
        return s;
    }

    synchronized Sample peak() {
        return new Sample(peakUsed, peakOld);
    }

    synchronized long samples() {
        return samples;
    }

    synchronized List<Long> perSecondMb() {
        return List.copyOf(perSecondMb);
    }

    @Override
    public void close() {
        jstat.close(0);
    }
}
