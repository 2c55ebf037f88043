package dev.fleetserver.netty.config;

import dev.fleetserver.core.util.GoDuration;
import java.time.Duration;

/**
 * {@code inputs[0].cache.*}: the settings of the original's cache that this server reads.
 *
 * @param maxCost     {@code max_cost}: bytes of artifact bodies kept in memory (the original counts an artifact's
 *                    cost as its body's size); default 50 MiB, the original's code default
 * @param ttlArtifact {@code ttl_artifact}: how long an artifact stays cached; default 24h
 * @param ttlApiKey   {@code ttl_api_key}: how long an authenticated agent key is trusted before it is checked again;
 *                    default 15m
 * @param jitterApiKey {@code jitter_api_key}: up to this much, at random, is taken off each key's {@code ttl_api_key}
 *                    so that keys cached together are not checked together; less than {@code ttl_api_key}; default
 *                    5m (none when {@code ttl_api_key} is 5m or less)
 */
public record CacheConfig(long maxCost, Duration ttlArtifact, Duration ttlApiKey, Duration jitterApiKey) {
    public static final long DEFAULT_MAX_COST = 50L * 1024 * 1024;
    public static final Duration DEFAULT_TTL_ARTIFACT = Duration.ofHours(24);
    public static final Duration DEFAULT_TTL_API_KEY = Duration.ofMinutes(15);
    public static final Duration DEFAULT_JITTER_API_KEY = Duration.ofMinutes(5);

    public static CacheConfig defaults() {
        return new CacheConfig(DEFAULT_MAX_COST, DEFAULT_TTL_ARTIFACT, DEFAULT_TTL_API_KEY, DEFAULT_JITTER_API_KEY);
    }

    static CacheConfig read(Section cache) {
        long maxCost = cache.longValue("max_cost", DEFAULT_MAX_COST, 0, Long.MAX_VALUE);
        Duration ttl = cache.duration("ttl_artifact", DEFAULT_TTL_ARTIFACT);
        if (ttl.isZero()) {
            throw ConfigException.at(cache.pathOf("ttl_artifact"), "expected a duration above zero");
        }
        Duration keyTtl = cache.duration("ttl_api_key", DEFAULT_TTL_API_KEY);
        if (keyTtl.isZero()) {
            throw ConfigException.at(cache.pathOf("ttl_api_key"), "expected a duration above zero");
        }
        Duration keyJitter = cache.duration("jitter_api_key", keyTtl.compareTo(DEFAULT_JITTER_API_KEY) > 0
                ? DEFAULT_JITTER_API_KEY : Duration.ZERO);
        if (keyJitter.compareTo(keyTtl) >= 0) {
            throw ConfigException.at(cache.pathOf("jitter_api_key"), "expected a duration less than ttl_api_key ("
                    + GoDuration.format(keyTtl) + ")");
        }
        cache.ignore("num_counters", "ttl_action", "ttl_enroll_key");
        cache.finish();
        return new CacheConfig(maxCost, ttl, keyTtl, keyJitter);
    }
}
