package dev.fleetserver.netty.limit;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A token bucket that refills one token per {@code interval} and holds at most {@code burst} tokens, like Go's
 * {@code rate.NewLimiter(rate.Every(interval), burst)} that the original uses per route. Lock-free: it keeps only the
 * "theoretical arrival time" of the next request (GCRA, the generic cell rate algorithm, which is the same bucket
 * expressed as one timestamp) and advances it with a compare-and-set, so any number of event loops may share one.
 *
 * <p>A caller it turns away can be given a time to come back ({@link #takeOrReserve()}): the bucket keeps a second
 * timestamp, the horizon up to which it has already promised its future tokens to earlier refused callers, and
 * hands out the next free slot after it. Slots are spaced one {@code interval} apart, but never closer than
 * {@code 1 s / burst}: callers are told whole seconds ({@code Retry-After}), so everyone promised a slot within one
 * second comes back at the same instant, and the bucket can serve at most {@code burst} of them at once. Promises
 * are not enforced (a refused caller cannot be told from a new one when it comes back); the horizon only says how
 * much of the future is already spoken for, and falls behind the clock once the rush is over.
 */
public final class TokenBucket {
    /**
     * Furthest a slot is reserved ahead, 60 s: once that much is promised, every further caller is promised a slot
     * 60 s ahead (unless one interval alone is longer: then its next token).
     */
    public static final long MAX_RESERVATION_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final long intervalNanos;
    private final long toleranceNanos;
    private final long slotSpacingNanos;
    private final LongSupplier nanoClock;
    private final AtomicLong arrival;
    private final AtomicLong horizon;

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
        // A bucket smaller than one second of its rate cannot absorb one second's worth of callers arriving at once.
        this.slotSpacingNanos = Math.max(intervalNanos, TimeUnit.SECONDS.toNanos(1) / b);
        this.nanoClock = nanoClock;
        long now = nanoClock.getAsLong();
        this.arrival = new AtomicLong(now);
        this.horizon = new AtomicLong(now - slotSpacingNanos);
    }

    /**
     * Takes one token if there is one.
     *
     * @return 0 when a token was taken, otherwise how many nanoseconds until the next token (nothing is taken)
     */
    public long tryTake() {
        return intervalNanos == 0 ? 0 : tryTake(nanoClock.getAsLong());
    }

    /**
     * Takes one token if there is one, otherwise reserves the next slot no earlier refused caller was promised:
     * the later of the next token and the last promised slot plus the slot spacing, but no further ahead than
     * {@link #MAX_RESERVATION_NANOS} or the next token, whichever is later. Lock-free, no allocation.
     *
     * @return 0 when a token was taken, otherwise nanoseconds from now until the caller's slot (&gt; 0)
     */
    public long takeOrReserve() {
        if (intervalNanos == 0) {
            return 0;
        }
        long now = nanoClock.getAsLong();
        long wait = tryTake(now);
        if (wait == 0) {
            return 0;
        }
        long earliest = now + wait;
        long latest = now + Math.max(wait, MAX_RESERVATION_NANOS);
        while (true) {
            long promised = horizon.get();
            long slot = promised + slotSpacingNanos;
            if (slot - earliest < 0) {
                slot = earliest;  // the rush is over: the next token is nobody's yet
            }
            if (slot - latest > 0) {
                slot = latest;
            }
            if (slot - promised <= 0) {
                // Capped behind a horizon another caller (with a later clock reading) has already moved on.
                return slot - now;
            }
            if (horizon.compareAndSet(promised, slot)) {
                return slot - now;
            }
        }
    }

    private long tryTake(long now) {
        while (true) {
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
