package dev.fleetserver.netty.limit;

import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.RouteLimitConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The limits a listener applies: the file's {@code limits.*} over the chosen {@link LimitProfile}, field by field
 * (a field set in the file always wins; zero means "take the profile's"), as the original merges them.
 *
 * @param profile        the chosen profile
 * @param chosenBy       why that profile, for the start-up log line
 * @param maxConnections in-flight request cap of the listener, 0 = none
 * @param routes         every route name of {@link LimitsConfig#ROUTES}
 */
public record ResolvedLimits(LimitProfile profile, String chosenBy, int maxConnections, Map<String, RouteLimit> routes) {
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    /** Body caps of the original's code (no profile sets them). */
    private static final Map<String, long[]> BODY_DEFAULTS = Map.of(
            "checkin", new long[]{MIB, 20 * MIB},
            "enroll", new long[]{512 * KIB, 512 * KIB},
            "ack", new long[]{2 * MIB, 2 * MIB},
            "upload_start", new long[]{5 * MIB, 5 * MIB},
            "upload_end", new long[]{KIB, KIB},
            "upload_chunk", new long[]{4 * MIB, 4 * MIB},
            "audit_unenroll", new long[]{KIB, KIB},
            "opamp", new long[]{3 * MIB, 3 * MIB});

    /**
     * @param memoryBytes memory available to this process, for {@code max_agents: 0}; see {@link #availableMemory()}
     */
    public static ResolvedLimits resolve(LimitsConfig config, long memoryBytes) {
        LimitProfile profile = LimitProfile.choose(config.maxAgents(), memoryBytes);
        String chosenBy = config.maxAgents() > 0 ? "max_agents " + config.maxAgents()
                : config.maxAgents() < 0 ? "max_agents " + config.maxAgents() + " (code defaults)"
                : "max heap " + memoryBytes / MIB + " MiB";
        Map<String, RouteLimit> routes = new LinkedHashMap<>();
        for (String name : LimitsConfig.ROUTES) {
            RouteLimitConfig set = config.route(name);
            LimitProfile.Rate rate = profile.rate(name);
            long[] body = BODY_DEFAULTS.getOrDefault(name, new long[]{0, 0});
            long raw = set.maxBodyByteSize() > 0 ? set.maxBodyByteSize() : body[0];
            // Only checkin has a decompressed cap of its own (20 MiB); elsewhere it follows the body cap.
            long decompressed = set.maxBodyDecompressed() > 0 ? set.maxBodyDecompressed()
                    : body[1] > body[0] ? Math.max(raw, body[1]) : raw;
            routes.put(name, new RouteLimit(
                    set.interval() != null && !set.interval().isZero() ? set.interval().toNanos() : rate.intervalNanos(),
                    set.burst() > 0 ? set.burst() : rate.burst(),
                    set.max() > 0 ? set.max() : rate.max(),
                    raw, decompressed));
        }
        int maxConnections = config.maxConnections() > 0 ? config.maxConnections() : profile.maxConnections();
        return new ResolvedLimits(profile, chosenBy, maxConnections, Map.copyOf(routes));
    }

    /**
     * Memory the JVM may use for its heap: {@link Runtime#maxMemory()}, which the JVM derives from the container's
     * limit (or host RAM) unless {@code -Xmx} says otherwise. Compared with {@link LimitProfile#heapNeededBytes()}.
     */
    public static long availableMemory() {
        long max = Runtime.getRuntime().maxMemory();
        return max == Long.MAX_VALUE ? Long.MAX_VALUE / 2 : max;
    }

    public RouteLimit route(String name) {
        RouteLimit r = routes.get(name);
        if (r == null) {
            throw new IllegalArgumentException("unknown route " + name);
        }
        return r;
    }

    /** TCP connections accepted at once: {@code int(max_connections * 1.1)}, as the original; 0 = no cap. */
    public int connectionCap() {
        return (int) (maxConnections * 1.1);
    }

    /** The one line logged at start. */
    public String describe() {
        RouteLimit checkin = route("checkin");
        return "limit profile " + profile.name() + " (chosen by " + chosenBy + "): max_connections "
                + (maxConnections == 0 ? "unlimited" : maxConnections) + ", checkin max "
                + (checkin.max() == 0 ? "unlimited" : checkin.max()) + ", enroll "
                + route("enroll").intervalNanos() / 1_000_000.0 + "ms/" + route("enroll").burst() + "/" + route("enroll").max();
    }
}
