package dev.fleetserver.netty.console;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Slows down guessing the management token through the console's sign-in: after {@link #FREE_FAILURES} wrong tokens
 * in a row, sign-ins are refused for a pause that doubles with each further failure, up to a longest pause; a
 * right token resets it. One per listener (sign-ins come over the management listener, usually from one place);
 * requests with the token as a bearer header are not affected. Thread-safe.
 */
public final class SignInThrottle {
    static final int FREE_FAILURES = 5;
    static final Duration FIRST_PAUSE = Duration.ofSeconds(1);

    private final Duration maxPause;
    private final LongSupplier nanoTime;
    private int failures;
    private long refusedUntil;
    private boolean refusing;

    /** @param maxPause the longest pause, however many wrong tokens are tried */
    public SignInThrottle(Duration maxPause) {
        this(maxPause, System::nanoTime);
    }

    SignInThrottle(Duration maxPause, LongSupplier nanoTime) {
        this.maxPause = maxPause;
        this.nanoTime = nanoTime;
    }

    /** Zero when a sign-in may be tried now, else the seconds (at least 1) until one may. */
    public synchronized long retryAfterSeconds() {
        if (!refusing) {
            return 0;
        }
        long left = refusedUntil - nanoTime.getAsLong();
        if (left <= 0) {
            refusing = false;
            return 0;
        }
        return Math.max(1, (left + 999_999_999L) / 1_000_000_000L);
    }

    /** A wrong token was tried. */
    public synchronized void failed() {
        failures++;
        if (failures >= FREE_FAILURES) {
            int doublings = Math.min(failures - FREE_FAILURES, 20);
            Duration pause = FIRST_PAUSE.multipliedBy(1L << doublings);
            if (pause.compareTo(maxPause) > 0) {
                pause = maxPause;
            }
            refusedUntil = nanoTime.getAsLong() + pause.toNanos();
            refusing = true;
        }
    }

    /** The right token was given. */
    public synchronized void succeeded() {
        failures = 0;
        refusing = false;
    }
}
