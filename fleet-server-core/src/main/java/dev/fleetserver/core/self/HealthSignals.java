package dev.fleetserver.core.self;

import dev.fleetserver.core.metrics.FleetMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * What tells the server it is not fully well: store calls that fail or are slow, and requests refused to shed load.
 * Fed by every store call core makes (it is the {@link FleetMetrics} of a metering wrapper around the store) and by the
 * listener's refusal count; read by the server's own agent document ({@code DEGRADED} with the reason) and by
 * {@code /api/status} (503 while the store cannot be reached).
 *
 * <p>Counts are kept per second over the last {@link #WINDOW}, so a failure keeps the server {@code DEGRADED} for that
 * long after it stopped: long enough for the state to reach Kibana at the next heartbeat. Thread-safe and cheap: store
 * calls of every thread land here.
 */
public final class HealthSignals implements FleetMetrics {
    /** How far back failures and refusals count. */
    public static final Duration WINDOW = Duration.ofSeconds(30);
    /** A store call that takes longer is slow (long polls of the change feeds excepted). */
    static final Duration SLOW = Duration.ofSeconds(5);
    /** Share of slow calls in the window above which the store is called slow. */
    static final double SLOW_SHARE = 0.2;

    private final Clock clock;
    private final Window calls = new Window();
    private final Window failures = new Window();
    private final Window slow = new Window();
    private final Window shed = new Window();
    private final AtomicLong shedSeen = new AtomicLong();
    private volatile LongSupplier shedCount = () -> 0;
    private volatile boolean lastCallFailed;

    public HealthSignals(Clock clock) {
        this.clock = clock;
    }

    /**
     * Where to read how many requests the server has refused to shed load since it started (connections over the
     * cap, routes at their in-flight limit, bodies over the memory budget — not rate limits, which pace by design).
     */
    public void shedCount(LongSupplier count) {
        this.shedCount = count;
        shedSeen.set(count.getAsLong());
    }

    @Override
    public void storeCall(String operation, long nanos, boolean failed) {
        long now = clock.millis() / 1000;
        lastCallFailed = failed;
        if (failed) {
            failures.add(now, 1);
        }
        // Change-feed long polls wait by design; only whether they fail says anything.
        if (!"await_checkpoint".equals(operation)) {
            calls.add(now, 1);
            if (nanos > SLOW.toNanos()) {
                slow.add(now, 1);
            }
        }
    }

    /** False while the store cannot be reached: the latest store call failed and none has succeeded since. */
    public boolean storeReachable() {
        return !lastCallFailed;
    }

    /**
     * Why the server is degraded now, or null when it is not.
     *
     * @param backEnd how the message names the store: {@code Elasticsearch}, {@code embedded store}
     */
    public String degradedReason(String backEnd) {
        long now = clock.millis() / 1000;
        long refusedTotal = shedCount.getAsLong();
        long newlyRefused = refusedTotal - shedSeen.getAndSet(refusedTotal);
        if (newlyRefused > 0) {
            shed.add(now, newlyRefused);
        }
        int seconds = (int) WINDOW.toSeconds();
        long failed = failures.sum(now, seconds);
        long total = calls.sum(now, seconds);
        if (failed > 0) {
            return failed + " " + backEnd + " request" + (failed == 1 ? "" : "s") + " failed in the last " + seconds + " s"
                    + (lastCallFailed ? "; it cannot be reached" : "");
        }
        long slowCalls = slow.sum(now, seconds);
        if (total > 0 && slowCalls > 0 && slowCalls >= SLOW_SHARE * total) {
            return backEnd + " is slow: " + slowCalls + " of " + total + " requests took over " + SLOW.toSeconds()
                    + " s in the last " + seconds + " s";
        }
        long refused = shed.sum(now, seconds);
        if (refused > 0) {
            return "shedding load: " + refused + " request" + (refused == 1 ? "" : "s") + " refused in the last "
                    + seconds + " s (connection, in-flight or memory limits)";
        }
        return null;
    }

    /** Counts per second over a ring a little longer than the window. */
    private static final class Window {
        private static final int SLOTS = 64;
        private final AtomicLongArray second = new AtomicLongArray(SLOTS);
        private final AtomicLongArray count = new AtomicLongArray(SLOTS);

        void add(long nowSecond, long n) {
            int i = (int) Math.floorMod(nowSecond, SLOTS);
            long s = second.get(i);
            if (s != nowSecond && second.compareAndSet(i, s, nowSecond)) {
                count.set(i, 0);
            }
            count.addAndGet(i, n);
        }

        long sum(long nowSecond, int lastSeconds) {
            long total = 0;
            for (int i = 0; i < SLOTS; i++) {
                long s = second.get(i);
                if (s > nowSecond - lastSeconds && s <= nowSecond) {
                    total += count.get(i);
                }
            }
            return total;
        }
    }
}
