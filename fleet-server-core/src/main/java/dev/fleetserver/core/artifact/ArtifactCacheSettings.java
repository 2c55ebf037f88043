package dev.fleetserver.core.artifact;

import java.time.Duration;

/**
 * The artifact cache: what it may hold and for how long.
 *
 * @param maxBytes bound on the bytes of the artifact bodies held ({@code cache.max_cost}; the original counts an
 *                 artifact's cost as its body's size too); an artifact larger than this is served but not kept
 * @param ttl      how long an artifact stays cached after it was read ({@code cache.ttl_artifact})
 */
public record ArtifactCacheSettings(long maxBytes, Duration ttl) {
    /** The original's code defaults: 50 MiB, 24 hours. */
    public static final ArtifactCacheSettings DEFAULTS = new ArtifactCacheSettings(50L * 1024 * 1024, Duration.ofHours(24));

    public ArtifactCacheSettings {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0");
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be > 0");
        }
    }
}
