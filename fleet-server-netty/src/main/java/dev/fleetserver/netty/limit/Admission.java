package dev.fleetserver.netty.limit;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Admission control of one listener, shared by its connections: the in-flight request cap ({@code max_connections})
 * and, per route, a token bucket ({@code interval}, {@code burst}) and an in-flight cap ({@code max}). The checks
 * run in the original's order: listener cap, then the route's bucket, then the route's cap (a token is spent even
 * when the cap then refuses, as in Go). A request holds its {@link Ticket} until its answer is written or its
 * connection closes, so a parked checkin counts against {@code checkin_limit.max} and {@code max_connections} for
 * as long as it is parked.
 *
 * <p>{@code Retry-After}, in whole seconds, at least 1:
 * <ul>
 *   <li>empty bucket: the seconds until the slot the bucket reserves for this caller
 *   ({@link TokenBucket#takeOrReserve()}), rounded up, so the callers refused in a rush come back spread over the
 *   seconds the bucket needs to serve them, one second's worth of tokens at a time, instead of all at once again.
 *   At most 60 s ({@link TokenBucket#MAX_RESERVATION_NANOS}): once a minute is promised, every further caller is
 *   told 60 (unless the route's interval alone is longer: then the time until its next token).</li>
 *   <li>full in-flight cap ({@code max_connections}, {@code <route>_limit.max}): nothing says when a slot frees up
 *   (a parked checkin may hold one for minutes, and no rate governs it), so a random 1 to 5 seconds, short because
 *   a slot may free up any moment and jittered so that the refused clients do not all come back together.</li>
 * </ul>
 */
public final class Admission {
    private final InFlightLimit listener;
    private final LongAdder overCapacity = new LongAdder();
    private final Map<String, Route> routes = new HashMap<>();
    private final LongSupplier nanoClock;
    private volatile ResolvedLimits current;

    /** A route's limiters; its bucket is replaced when its rate changes, its in-flight cap changed in place. */
    private static final class Route {
        volatile TokenBucket bucket;
        final InFlightLimit inFlight;
        final LongAdder rateLimited = new LongAdder();
        final LongAdder maxLimited = new LongAdder();

        Route(TokenBucket bucket, InFlightLimit inFlight) {
            this.bucket = bucket;
            this.inFlight = inFlight;
        }
    }

    public Admission(ResolvedLimits limits, LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.current = limits;
        this.listener = new InFlightLimit(limits.maxConnections());
        limits.routes().forEach((name, r) -> routes.put(name,
                new Route(new TokenBucket(r.intervalNanos(), r.burst(), nanoClock), new InFlightLimit(r.max()))));
    }

    /** The limits in force. */
    public ResolvedLimits limits() {
        return current;
    }

    /**
     * Puts new limits in force at once (a new Fleet Server policy): in-flight caps change in place, so requests in
     * flight (parked checkins) keep counting against them; a route whose rate changed starts a fresh, full bucket.
     */
    public synchronized void apply(ResolvedLimits limits) {
        listener.max(limits.maxConnections());
        limits.routes().forEach((name, r) -> {
            Route route = routes.get(name);
            RouteLimit before = current.routes().get(name);
            if (before == null || before.intervalNanos() != r.intervalNanos() || before.burst() != r.burst()) {
                route.bucket = new TokenBucket(r.intervalNanos(), r.burst(), nanoClock);
            }
            route.inFlight.max(r.max());
        });
        current = limits;
    }

    /** Holds the slots of one admitted request; {@link #release()} is idempotent. Not thread-safe (event loop). */
    public static final class Ticket {
        private InFlightLimit listener;
        private InFlightLimit route;

        private Ticket(InFlightLimit listener, InFlightLimit route) {
            this.listener = listener;
            this.route = route;
        }

        public void release() {
            if (route != null) {
                route.release();
                route = null;
            }
            if (listener != null) {
                listener.release();
                listener = null;
            }
        }
    }

    /**
     * @param route a route name from {@link RouteBuckets#of}, or null for paths without a route limiter
     * @throws Rejection when a limit says no (nothing is held then)
     */
    public Ticket admit(String route) {
        if (!listener.tryAcquire()) {
            overCapacity.increment();
            throw new Rejection(Rejection.Kind.CAPACITY, unknownWait());
        }
        Route r = route == null ? null : routes.get(route);
        if (r == null) {
            return new Ticket(listener, null);
        }
        long wait = r.bucket.takeOrReserve();
        if (wait > 0) {
            listener.release();
            r.rateLimited.increment();
            throw new Rejection(Rejection.Kind.RATE_LIMIT, wholeSecondsAtLeastOne(wait));
        }
        if (!r.inFlight.tryAcquire()) {
            listener.release();
            r.maxLimited.increment();
            throw new Rejection(Rejection.Kind.MAX_LIMIT, unknownWait());
        }
        return new Ticket(listener, r.inFlight);
    }

    /** Requests in flight on the listener (for tests and metrics). */
    public long inFlight() {
        return listener.inFlight();
    }

    /** Requests in flight on a route. */
    public long inFlight(String route) {
        Route r = routes.get(route);
        return r == null ? 0 : r.inFlight.inFlight();
    }

    /** Requests refused by the listener's in-flight cap since start. */
    public long overCapacity() {
        return overCapacity.sum();
    }

    /** Requests of a route refused by its token bucket since start. */
    public long rateLimited(String route) {
        Route r = routes.get(route);
        return r == null ? 0 : r.rateLimited.sum();
    }

    /** Requests of a route refused by its in-flight cap since start. */
    public long maxLimited(String route) {
        Route r = routes.get(route);
        return r == null ? 0 : r.maxLimited.sum();
    }

    /**
     * Requests refused since start to shed load: over the listener's in-flight cap or a route's (rate limits, which
     * pace agents by design, are not counted).
     */
    public long shed() {
        long n = overCapacity.sum();
        for (Route r : routes.values()) {
            n += r.maxLimited.sum();
        }
        return n;
    }

    /** Rounded up: a caller told n seconds never comes back before its slot. */
    private static long wholeSecondsAtLeastOne(long nanos) {
        long second = TimeUnit.SECONDS.toNanos(1);
        return Math.max(1, nanos / second + (nanos % second == 0 ? 0 : 1));
    }

    private static long unknownWait() {
        return 1 + ThreadLocalRandom.current().nextInt(5);
    }
}
