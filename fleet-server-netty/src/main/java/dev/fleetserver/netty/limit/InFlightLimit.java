package dev.fleetserver.netty.limit;

import java.util.concurrent.atomic.AtomicLong;

/** At most {@code max} holders at once ({@code max} 0 = unlimited, counted anyway). Lock-free; shared by event loops. */
public final class InFlightLimit {
    private final long max;
    private final AtomicLong inFlight = new AtomicLong();

    public InFlightLimit(long max) {
        if (max < 0) {
            throw new IllegalArgumentException("max must not be negative: " + max);
        }
        this.max = max;
    }

    /** @return true when a slot was taken; the caller then owes exactly one {@link #release()} */
    public boolean tryAcquire() {
        if (max == 0) {
            inFlight.incrementAndGet();
            return true;
        }
        while (true) {
            long n = inFlight.get();
            if (n >= max) {
                return false;
            }
            if (inFlight.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    public void release() {
        inFlight.decrementAndGet();
    }

    public long inFlight() {
        return inFlight.get();
    }

    public long max() {
        return max;
    }
}
