package dev.fleetserver.netty.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Connection and route limits, from {@code inputs[0].server.limits.*}, as written in the file. Choosing a limit
 * profile from {@code max_agents} (or the heap) and filling unset fields from it is
 * {@code dev.fleetserver.netty.limit.ResolvedLimits}'s business; {@code action_limit} and {@code policy_limit} are
 * dispatch limits, not HTTP ones, and are not applied by the front end.
 *
 * <p>Also accepted but not implemented: the deprecated {@code policy_throttle}.
 *
 * @param maxAgents         sizing hint: 0 = by available memory, more = by agent count, negative = code defaults
 * @param maxHeaderByteSize largest request head; default 8192 (0 in the file also means 8192, as in the original)
 * @param maxConnections    in-flight requests on the agent listener (429 beyond), and 1.1 times that in TCP
 *                          connections (closed at accept beyond); 0 = from the profile, which may say unlimited
 * @param routes            one entry for every name in {@link #ROUTES}, keyed without the {@code _limit} suffix;
 *                          {@link RouteLimitConfig#UNSET} for routes the file does not mention
 * @param maxFileStorageSize largest file agents may upload, in bytes ({@code max_file_storage_size}): null (unset) for
 *                          no limit, 0 to refuse uploads altogether
 */
public record LimitsConfig(int maxAgents, int maxHeaderByteSize, int maxConnections,
                           Map<String, RouteLimitConfig> routes, Long maxFileStorageSize) {

    /** Route names as in the file's {@code <route>_limit} keys, in the original's order. */
    public static final List<String> ROUTES = List.of(
            "checkin", "artifact", "enroll", "ack", "status", "upload_start", "upload_end", "upload_chunk",
            "file_delivery", "pgp_retrieval", "audit_unenroll", "opamp", "action", "policy");

    public LimitsConfig {
        if (maxHeaderByteSize <= 0) {
            throw new IllegalArgumentException("maxHeaderByteSize must be positive: " + maxHeaderByteSize);
        }
        if (maxConnections < 0) {
            throw new IllegalArgumentException("maxConnections must not be negative: " + maxConnections);
        }
        Map<String, RouteLimitConfig> complete = new LinkedHashMap<>();
        for (String route : ROUTES) {
            complete.put(route, routes.getOrDefault(route, RouteLimitConfig.UNSET));
        }
        if (!ROUTES.containsAll(routes.keySet())) {
            throw new IllegalArgumentException("unknown routes in " + routes.keySet() + "; known: " + ROUTES);
        }
        routes = Collections.unmodifiableMap(complete);
        if (maxFileStorageSize != null && maxFileStorageSize < 0) {
            throw new IllegalArgumentException("maxFileStorageSize must not be negative: " + maxFileStorageSize);
        }
    }

    /** Without a file size limit. */
    public LimitsConfig(int maxAgents, int maxHeaderByteSize, int maxConnections, Map<String, RouteLimitConfig> routes) {
        this(maxAgents, maxHeaderByteSize, maxConnections, routes, null);
    }

    public static LimitsConfig defaults() {
        return read(Section.empty());
    }

    /**
     * @param route a name from {@link #ROUTES}, e.g. {@code "checkin"}
     * @throws IllegalArgumentException for any other name
     */
    public RouteLimitConfig route(String route) {
        RouteLimitConfig limit = routes.get(route);
        if (limit == null) {
            throw new IllegalArgumentException("unknown route \"" + route + "\"; known: " + ROUTES);
        }
        return limit;
    }

    /**
     * These limits with what {@code policy} sets in their place, field by field (a zero or unset field of the policy
     * keeps this one): a Fleet Server policy's limits over the file's. {@code max_header_byte_size} and
     * {@code max_file_storage_size} are kept, since they are read only at start.
     */
    public LimitsConfig overlay(LimitsConfig policy) {
        Map<String, RouteLimitConfig> merged = new LinkedHashMap<>();
        for (String route : ROUTES) {
            RouteLimitConfig mine = route(route);
            RouteLimitConfig theirs = policy.route(route);
            merged.put(route, new RouteLimitConfig(
                    theirs.interval() != null && !theirs.interval().isZero() ? theirs.interval() : mine.interval(),
                    theirs.burst() > 0 ? theirs.burst() : mine.burst(),
                    theirs.max() > 0 ? theirs.max() : mine.max(),
                    theirs.maxBodyByteSize() > 0 ? theirs.maxBodyByteSize() : mine.maxBodyByteSize(),
                    theirs.maxBodyDecompressed() > 0 ? theirs.maxBodyDecompressed() : mine.maxBodyDecompressed()));
        }
        return new LimitsConfig(policy.maxAgents() != 0 ? policy.maxAgents() : maxAgents, maxHeaderByteSize,
                policy.maxConnections() > 0 ? policy.maxConnections() : maxConnections, merged, maxFileStorageSize);
    }

    static LimitsConfig read(Section s) {
        int maxAgents = s.integer("max_agents", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);
        int maxHeaderByteSize = s.integer("max_header_byte_size", 8192, 0, Integer.MAX_VALUE);
        int maxConnections = s.integer("max_connections", 0, 0, Integer.MAX_VALUE);
        Map<String, RouteLimitConfig> routes = new LinkedHashMap<>();
        for (String route : ROUTES) {
            routes.put(route, RouteLimitConfig.read(s.section(route + "_limit")));
        }
        Long maxFileStorageSize = s.optionalLong("max_file_storage_size", 0, Long.MAX_VALUE);
        s.ignore("policy_throttle");
        s.finish();
        return new LimitsConfig(maxAgents, maxHeaderByteSize == 0 ? 8192 : maxHeaderByteSize, maxConnections,
                routes, maxFileStorageSize);
    }
}
