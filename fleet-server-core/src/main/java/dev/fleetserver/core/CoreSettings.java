package dev.fleetserver.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.artifact.ArtifactCacheSettings;
import dev.fleetserver.core.checkin.CheckinSettings;
import dev.fleetserver.core.util.Json;
import java.time.Duration;

/**
 * Everything core needs from configuration.
 *
 * @param checkin         long-poll timing
 * @param apiKeyTtl       how long an authenticated key is trusted without asking again ({@code cache.ttl_api_key})
 * @param apiKeyJitter    random part taken off that ({@code cache.jitter_api_key})
 * @param apiKeyCacheSize bound on cached keys
 * @param pbkdf2Iterations replace-token hashing ({@code pdkdf2.*})
 * @param defaultOutputs  the outputs a new policy gets when its body names none, and the bootstrap policy's
 * @param artifactCache   bound and lifetime of cached Elastic Defend artifacts
 */
public record CoreSettings(CheckinSettings checkin, Duration apiKeyTtl, Duration apiKeyJitter, int apiKeyCacheSize,
                           int pbkdf2Iterations, int pbkdf2KeyLength, int pbkdf2SaltLength, ObjectNode defaultOutputs,
                           ArtifactCacheSettings artifactCache) {

    /** With the default artifact cache. */
    public CoreSettings(CheckinSettings checkin, Duration apiKeyTtl, Duration apiKeyJitter, int apiKeyCacheSize,
                        int pbkdf2Iterations, int pbkdf2KeyLength, int pbkdf2SaltLength, ObjectNode defaultOutputs) {
        this(checkin, apiKeyTtl, apiKeyJitter, apiKeyCacheSize, pbkdf2Iterations, pbkdf2KeyLength, pbkdf2SaltLength,
                defaultOutputs, ArtifactCacheSettings.DEFAULTS);
    }

    public static CoreSettings defaults() {
        return new CoreSettings(CheckinSettings.defaults(), Duration.ofMinutes(15), Duration.ofMinutes(5), 100_000,
                210_000, 32, 64, defaultOutputs("http://127.0.0.1:9200"));
    }

    public CoreSettings withCheckin(CheckinSettings c) {
        return new CoreSettings(c, apiKeyTtl, apiKeyJitter, apiKeyCacheSize, pbkdf2Iterations, pbkdf2KeyLength,
                pbkdf2SaltLength, defaultOutputs, artifactCache);
    }

    public CoreSettings withPbkdf2(int iterations, int keyLength, int saltLength) {
        return new CoreSettings(checkin, apiKeyTtl, apiKeyJitter, apiKeyCacheSize, iterations, keyLength, saltLength,
                defaultOutputs, artifactCache);
    }

    public CoreSettings withApiKeyCache(Duration ttl, Duration jitter) {
        return new CoreSettings(checkin, ttl, jitter, apiKeyCacheSize, pbkdf2Iterations, pbkdf2KeyLength,
                pbkdf2SaltLength, defaultOutputs, artifactCache);
    }

    public CoreSettings withArtifactCache(ArtifactCacheSettings cache) {
        return new CoreSettings(checkin, apiKeyTtl, apiKeyJitter, apiKeyCacheSize, pbkdf2Iterations, pbkdf2KeyLength,
                pbkdf2SaltLength, defaultOutputs, cache);
    }

    /** {@code {"default":{"type":"elasticsearch","hosts":[host]}}}. */
    public static ObjectNode defaultOutputs(String host) {
        ObjectNode outputs = Json.object();
        ObjectNode def = outputs.putObject("default");
        def.put("type", "elasticsearch");
        def.putArray("hosts").add(host);
        return outputs;
    }
}
