package dev.fleetserver.netty.config;

import java.time.Duration;

/**
 * {@code inputs[0].cache.*}: the settings of the original's cache that this server reads.
 *
 * @param maxCost     {@code max_cost}: bytes of artifact bodies kept in memory (the original counts an artifact's
 *                    cost as its body's size); default 50 MiB, the original's code default
 * @param ttlArtifact {@code ttl_artifact}: how long an artifact stays cached; default 24h
 */
public record CacheConfig(long maxCost, Duration ttlArtifact) {
    public static final long DEFAULT_MAX_COST = 50L * 1024 * 1024;
    public static final Duration DEFAULT_TTL_ARTIFACT = Duration.ofHours(24);

    public static CacheConfig defaults() {
        return new CacheConfig(DEFAULT_MAX_COST, DEFAULT_TTL_ARTIFACT);
    }

    static CacheConfig read(Section cache) {
        long maxCost = cache.longValue("max_cost", DEFAULT_MAX_COST, 0, Long.MAX_VALUE);
        Duration ttl = cache.duration("ttl_artifact", DEFAULT_TTL_ARTIFACT);
        if (ttl.isZero()) {
            throw ConfigException.at(cache.pathOf("ttl_artifact"), "expected a duration above zero");
        }
        cache.ignore("num_counters", "ttl_action", "ttl_enroll_key", "ttl_api_key", "jitter_api_key");
        cache.finish();
        return new CacheConfig(maxCost, ttl);
    }
}
