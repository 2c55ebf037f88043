package dev.fleetserver.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * How busy the machine is apart from the processes of a run: the machine's busy time from {@code /proc/stat}
 * minus the CPU time of the given processes (and of the runner itself), both in clock ticks, as average cores.
 * The machine is shared; a run with much foreign CPU is noisy and the report says so.
 */
final class CpuMeter {
    private static final double TICKS_PER_SECOND = 100.0;

    private long machineBusy;
    private long ours;
    private long nanos;

    /** Starts a window over {@code pids}. */
    void start(Collection<Long> pids) {
        machineBusy = machineBusyTicks();
        ours = ticks(pids);
        nanos = System.nanoTime();
    }

    /** Average cores used by the machine and by other processes since {@link #start}: {@code {machine, foreign}}. */
    double[] stop(Collection<Long> pids) {
        double seconds = (System.nanoTime() - nanos) / 1e9;
        long machine = machineBusyTicks() - machineBusy;
        long own = ticks(pids) - ours;
        return new double[] {machine / TICKS_PER_SECOND / seconds, Math.max(0, machine - own) / TICKS_PER_SECOND / seconds};
    }

    /** Foreign load over a short window before a run: average cores busy. */
    static double machineBusyCores(long millis) throws InterruptedException {
        long a = machineBusyTicks();
        long t = System.nanoTime();
        Thread.sleep(millis);
        return (machineBusyTicks() - a) / TICKS_PER_SECOND / ((System.nanoTime() - t) / 1e9);
    }

    static long machineBusyTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                if (i != 4 && i != 5) {
                    busy += Long.parseLong(f[i]);
                }
            }
            return busy;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * Waits until {@code pids} together use less than {@code belowCores} over two consecutive 1 s windows, at most
     * {@code maxSeconds}; returns the seconds waited. The generators report an agent parked once its checkin is
     * written; this waits until the server has also worked through what was written (a backlog of checkins and
     * acks would otherwise overlap the next measurement).
     */
    static double awaitIdle(Collection<Long> pids, double belowCores, long maxSeconds) throws InterruptedException {
        long start = System.nanoTime();
        int quiet = 0;
        while (quiet < 2 && System.nanoTime() - start < maxSeconds * 1_000_000_000L) {
            long a = 0;
            for (long p : pids) {
                a += ticks(p);
            }
            long t = System.nanoTime();
            Thread.sleep(1000);
            long b = 0;
            for (long p : pids) {
                b += ticks(p);
            }
            double cores = (b - a) / TICKS_PER_SECOND / ((System.nanoTime() - t) / 1e9);
            quiet = cores < belowCores ? quiet + 1 : 0;
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** CPU time (user + system) of {@code pids} so far, in clock ticks. */
    static long ticks(Collection<Long> pids) {
        long sum = ticks(ProcessHandle.current().pid());
        for (long p : pids) {
            sum += ticks(p);
        }
        return sum;
    }

    /** The CPU ticks (1/100 s) one process has used, user and system. */
    static long ticks(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
