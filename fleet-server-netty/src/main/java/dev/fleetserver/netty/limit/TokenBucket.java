package dev.fleetserver.netty.limit;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A token bucket that refills one token per {@code interval} and holds at most {@code burst} tokens, like Go's
 * {@code rate.NewLimiter(rate.Every(interval), burst)} that the original uses per route. Lock-free: it keeps only the
 * "theoretical arrival time" of the next request (GCRA, the generic cell rate algorithm, which is the same bucket
 * expressed as one timestamp) and advances it with a compare-and-set, so any number of event loops may share one.
 */
public final class TokenBucket {
    private final long intervalNanos;
    private final long toleranceNanos;
    private final LongSupplier nanoClock;
    private final AtomicLong arrival;

    /**
     * @param intervalNanos one token per this many nanoseconds; 0 = unlimited (Go's {@code rate.Every(0)} is infinite)
     * @param burst         bucket size; values below 1 act as 1, so a configured route is never closed for good
     * @param nanoClock     monotonic time in nanoseconds ({@code System::nanoTime} outside tests)
     */
    public TokenBucket(long intervalNanos, long burst, LongSupplier nanoClock) {
        if (intervalNanos < 0) {
            throw new IllegalArgumentException("interval must not be negative: " + intervalNanos);
        }
        this.intervalNanos = intervalNanos;
        long b = Math.max(1, burst);
        // Saturate instead of overflowing for absurd bursts: the bucket is then simply never empty.
        this.toleranceNanos = intervalNanos == 0 ? 0 : (b > Long.MAX_VALUE / 4 / intervalNanos ? Long.MAX_VALUE / 4 : b * intervalNanos);
        this.nanoClock = nanoClock;
        this.arrival = new AtomicLong(nanoClock.getAsLong());
    }

    /**
     * Takes one token if there is one.
     *
     * @return 0 when a token was taken, otherwise how many nanoseconds until the next token (nothing is taken)
     */
    public long tryTake() {
        if (intervalNanos == 0) {
            return 0;
        }
        while (true) {
            long now = nanoClock.getAsLong();
            long tat = arrival.get();
            long base = tat - now < 0 ? now : tat;  // a full bucket does not keep filling while unused
            long next = base + intervalNanos;
            long wait = next - now - toleranceNanos;
            if (wait > 0) {
                return wait;
            }
            if (arrival.compareAndSet(tat, next)) {
                return 0;
            }
        }
    }
}
