package dev.fleetserver.bench;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The highest heap use of the server seen while it is open, sampled every 50 ms through its {@link ServerProbe}
 * (garbage included: what the heap must hold at that moment, an upper bound of the live data). Without a probe it
 * records nothing and {@link #peak()} is -1.
 */
final class HeapPeak implements AutoCloseable {
    private final AtomicLong peak = new AtomicLong(-1);
    private final AtomicBoolean sampling;
    private final Thread sampler;

    HeapPeak(ServerProbe probe) {
        sampling = new AtomicBoolean(probe != null);
        sampler = new Thread(() -> {
            while (sampling.get()) {
                try {
                    peak.accumulateAndGet(probe.heapUsedNow(), Math::max);
                    Thread.sleep(50);
                } catch (Exception e) {
                    return;
                }
            }
        }, "heap-peak");
        sampler.setDaemon(true);
        sampler.start();
    }

    /** Bytes, or -1 when nothing was sampled. */
    long peak() {
        return peak.get();
    }

    @Override
    public void close() throws InterruptedException {
        sampling.set(false);
        sampler.join(1000);
    }
}
