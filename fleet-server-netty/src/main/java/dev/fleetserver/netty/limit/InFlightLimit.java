package dev.fleetserver.netty.limit;

import java.util.concurrent.atomic.AtomicLong;

/**
 * At most {@code max} holders at once ({@code max} 0 = unlimited, counted anyway). Lock-free; shared by event loops.
 * The cap may change while slots are held (a new Fleet Server policy): holders keep their slots, and new ones are
 * refused until the count is below the new cap.
 */
public final class InFlightLimit {
    private volatile long max;
    private final AtomicLong inFlight = new AtomicLong();

    public InFlightLimit(long max) {
        if (max < 0) {
            throw new IllegalArgumentException("max must not be negative: " + max);
        }
        this.max = max;
    }

    /** @return true when a slot was taken; the caller then owes exactly one {@link #release()} */
    public boolean tryAcquire() {
        long max = this.max;
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

    /** A new cap, in force for the next {@link #tryAcquire()}. */
    public void max(long max) {
        if (max < 0) {
            throw new IllegalArgumentException("max must not be negative: " + max);
        }
        this.max = max;
    }
}
