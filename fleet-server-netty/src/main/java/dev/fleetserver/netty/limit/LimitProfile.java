package dev.fleetserver.netty.limit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A limit profile of the original ({@code internal/pkg/config/defaults/*.yml}, protocol reference section 4.3): the
 * route limits and connection cap sized for a number of agents. Which one applies is chosen by {@link #choose}.
 *
 * <p>The limits are the original's. The memory each profile needs is not: the original recommends RAM for a Go
 * process with a 50-512 MiB cache and two goroutines per connection; this server holds a parked checkin in 4-7 KiB of
 * heap and direct memory (bench/results, 1 000-19 000 agents). A profile here needs
 * {@link #BASE_HEAP_BYTES} plus {@link #HEAP_PER_AGENT_BYTES} (about five times the measured cost, for the answers
 * and request bodies in flight around a park) per checkin its {@code checkin_limit.max} admits; see
 * {@link #heapNeededBytes()}.
 *
 * @param name              the original's file name without {@code .yml}, or {@code code defaults}
 * @param minAgents         smallest agent count it is meant for
 * @param maxAgents         largest agent count it is meant for
 * @param recommendedRamMiB the original's recommended RAM (for reference only; see {@link #heapNeededBytes()})
 * @param maxConnections    in-flight request cap (0 = none); the TCP cap is 1.1 times this
 * @param routes            per route name of {@code LimitsConfig.ROUTES}: interval (ns) / burst / max
 */
public record LimitProfile(String name, long minAgents, long maxAgents, long recommendedRamMiB, int maxConnections,
                           Map<String, Rate> routes) {

    /** Heap every profile needs besides its agents (core, caches, buffers of an idle server). */
    public static final long BASE_HEAP_BYTES = 128L * 1024 * 1024;
    /** Heap budgeted per admitted checkin. */
    public static final long HEAP_PER_AGENT_BYTES = 32L * 1024;

    /** Token bucket and in-flight cap of one route in a profile. */
    public record Rate(long intervalNanos, long burst, long max) {
    }

    private static final List<String> TABLE_ROUTES = List.of("checkin", "artifact", "enroll", "ack", "status",
            "upload_start", "upload_end", "upload_chunk", "file_delivery", "pgp_retrieval", "audit_unenroll");

    /** The original's code defaults, used with {@code max_agents < 0} or when no profile fits the memory. */
    public static final LimitProfile CODE_DEFAULTS = profile("code defaults", 0, Long.MAX_VALUE, 0, 0, "0/5", "5ms/1",
            "1ms/1000/0 5ms/25/50 10ms/50/100 10ms/50/100 5ms/25/50 2s/5/10 2s/5/10 3ms/5/10 100ms/5/10 5ms/25/50 10ms/50/100");

    /** The original's profiles in order of size (section 4.3 of the protocol reference). */
    public static final List<LimitProfile> PROFILES = List.of(
            profile("lte0500_limits", 0, 500, 256, 1500, "5ms/1", "5ms/1",
                    "5ms/100/500 5ms/100/200 10ms/10/20 4ms/100/200 5ms/10/20 2s/5/5 2s/5/5 3ms/5/5 100ms/5/5 5ms/100/200 4ms/100/200"),
            profile("lte1000_limits", 501, 1000, 512, 3000, "5ms/1", "5ms/1",
                    "5ms/200/1000 5ms/200/400 10ms/20/40 4ms/200/400 5ms/20/40 2s/5/10 2s/5/10 3ms/5/10 100ms/5/10 5ms/200/400 4ms/200/400"),
            profile("lte2500_limits", 1001, 2500, 1024, 7000, "5ms/1", "5ms/1",
                    "5ms/500/2500 5ms/500/1000 10ms/50/100 4ms/500/1000 5ms/50/100 2s/10/20 2s/10/20 3ms/10/20 100ms/10/20 5ms/500/1000 4ms/500/1000"),
            profile("lte5000_limits", 2501, 5000, 2048, 12000, "5ms/5", "5ms/1",
                    "2ms/1000/5000 2ms/1000/2000 10ms/100/200 2ms/1000/2000 5ms/100/200 2s/20/40 2s/20/40 3ms/20/40 100ms/20/40 2ms/1000/2000 2ms/1000/2000"),
            profile("lte10000_limits", 5001, 10000, 4048, 22000, "1ms/10", "5ms/1",
                    "1ms/2000/10000 1ms/2000/4000 10ms/100/200 1ms/2000/4000 5ms/200/400 2s/40/80 2s/40/80 3ms/40/80 100ms/40/80 1ms/2000/4000 1ms/2000/4000"),
            profile("lte20000_limits", 10001, 20000, 8096, 42000, "1ms/100", "5ms/1",
                    "0.5ms/4000/20000 0.5ms/4000/8000 10ms/100/200 0.5ms/4000/8000 5ms/200/400 2s/40/80 2s/40/80 3ms/40/80 100ms/40/80 0.5ms/4000/8000 0.5ms/4000/8000"),
            profile("lte40000_limits", 20001, 40000, 16192, 0, "0.5ms/100", "2ms/1",
                    "0.5ms/4000/40000 0.5ms/4000/8000 10ms/100/200 0.5ms/4000/8000 5ms/200/400 2s/40/80 2s/40/80 3ms/40/80 100ms/40/80 0.5ms/4000/8000 0.5ms/4000/8000"),
            profile("max_limits", 40001, Long.MAX_VALUE, 32384, 0, "0.25ms/100", "0.25ms/1",
                    "0.25ms/8000/80000 0.25ms/8000/16000 10ms/200/400 0.25ms/8000/16000 5ms/200/400 2s/40/80 2s/40/80 3ms/40/80 100ms/40/80 0.25ms/8000/16000 0.25ms/8000/16000"));

    /**
     * The original's choice ({@code loadLimits}): {@code maxAgents > 0} picks the first profile whose agent range
     * holds it; {@code 0} picks the largest profile whose {@link #heapNeededBytes()} is not above
     * {@code memoryBytes}; a negative count, or memory below every profile, gives {@link #CODE_DEFAULTS}.
     */
    public static LimitProfile choose(int maxAgents, long memoryBytes) {
        if (maxAgents > 0) {
            for (LimitProfile p : PROFILES) {
                if (p.minAgents <= maxAgents && maxAgents <= p.maxAgents) {
                    return p;
                }
            }
            return CODE_DEFAULTS;
        }
        if (maxAgents < 0) {
            return CODE_DEFAULTS;
        }
        LimitProfile best = CODE_DEFAULTS;
        for (LimitProfile p : PROFILES) {
            if (p.heapNeededBytes() <= memoryBytes) {
                best = p;
            }
        }
        return best;
    }

    /**
     * Heap this profile needs: {@link #BASE_HEAP_BYTES} + {@link #HEAP_PER_AGENT_BYTES} per checkin its
     * {@code checkin_limit.max} admits (lte0500: 144 MiB, lte2500: 206 MiB, lte10000: 441 MiB, lte20000: 753 MiB,
     * lte40000: 1378 MiB, max: 2628 MiB).
     */
    public long heapNeededBytes() {
        return BASE_HEAP_BYTES + rate("checkin").max() * HEAP_PER_AGENT_BYTES;
    }

    /** The route's rate in this profile; routes no profile file names (opamp) use the code default 1ms/1000/0. */
    public Rate rate(String route) {
        return routes.getOrDefault(route, new Rate(1_000_000, 1000, 0));
    }

    private static LimitProfile profile(String name, long minAgents, long maxAgents, long ramMiB, int maxConnections,
                                        String action, String policy, String table) {
        Map<String, Rate> routes = new LinkedHashMap<>();
        String[] cells = table.split(" ");
        for (int i = 0; i < TABLE_ROUTES.size(); i++) {
            routes.put(TABLE_ROUTES.get(i), parse(cells[i] + "/0"));
        }
        routes.put("opamp", new Rate(1_000_000, 1000, 0));
        routes.put("action", parse(action + "/0"));
        routes.put("policy", parse(policy + "/0"));
        return new LimitProfile(name, minAgents, maxAgents, ramMiB, maxConnections, Map.copyOf(routes));
    }

    /** {@code interval/burst/max[/ignored]} with interval in {@code ms} or {@code s} (or a bare 0). */
    private static Rate parse(String cell) {
        String[] parts = cell.split("/");
        String interval = parts[0];
        long nanos;
        if (interval.endsWith("ms")) {
            nanos = Math.round(Double.parseDouble(interval.substring(0, interval.length() - 2)) * 1_000_000);
        } else if (interval.endsWith("s")) {
            nanos = Math.round(Double.parseDouble(interval.substring(0, interval.length() - 1)) * 1_000_000_000);
        } else {
            nanos = Long.parseLong(interval);
        }
        return new Rate(nanos, Long.parseLong(parts[1]), Long.parseLong(parts[2]));
    }
}
