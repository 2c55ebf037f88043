package dev.fleetserver.netty.limit;

/**
 * Admission control said no. {@code http/ErrorMapper} turns it into the original's 429 answers (JSON
 * {@code RateLimit}/{@code MaxLimit} for a route, plain text {@code Server capacity exceeded.} for the in-flight
 * cap; {@code MaxLimit} with its own message for the body budget) plus a {@code Retry-After} header. Stackless: under overload these are thrown by the thousand.
 *
 * @see Admission
 */
public final class Rejection extends RuntimeException {
    /** Which limit was hit. */
    public enum Kind {
        /** The route's token bucket is empty. */
        RATE_LIMIT,
        /** The route's in-flight cap ({@code <route>_limit.max}) is reached. */
        MAX_LIMIT,
        /** The listener's in-flight cap ({@code max_connections}) is reached. */
        CAPACITY,
        /** Request bodies in memory are at the process's {@link BodyBudget}. */
        MEMORY
    }

    private final Kind kind;
    private final long retryAfterSeconds;

    public Rejection(Kind kind, long retryAfterSeconds) {
        super(kind.name(), null, false, false);
        this.kind = kind;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public Kind kind() {
        return kind;
    }

    /** Whole seconds, at least 1. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
