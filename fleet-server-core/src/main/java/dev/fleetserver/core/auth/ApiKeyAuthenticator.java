package dev.fleetserver.core.auth;

import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Authenticates API keys through the {@link ApiKeys} port behind a bounded cache, so steady-state checkins cost no
 * round trip. Entries live {@code ttl} minus a random jitter in {@code [0, jitter)} so that keys cached together do
 * not expire together. The cache holds a SHA-256 of each secret, never the secret. When an entry ends, the same
 * secret presented again is {@linkplain ApiKeys#recheck re-checked}, which the port may batch; another secret is
 * authenticated afresh.
 */
public final class ApiKeyAuthenticator {
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    private final ApiKeys apiKeys;
    private final Clock clock;
    private final Duration ttl;
    private final Duration jitter;
    private final int maxEntries;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();

    public ApiKeyAuthenticator(ApiKeys apiKeys, Clock clock, Duration ttl, Duration jitter, int maxEntries) {
        this.apiKeys = apiKeys;
        this.clock = clock;
        this.ttl = ttl;
        this.jitter = jitter;
        this.maxEntries = maxEntries;
    }

    /** Completes normally for a valid, enabled key; fails with ErrUnauthorized / ApiKey not enabled otherwise. */
    public CompletableFuture<Void> authenticate(ApiKey key) {
        byte[] hash = sha256(key.key());
        long now = clock.millis();
        Entry e = cache.get(key.id());
        boolean sameSecret = e != null && MessageDigest.isEqual(e.secretHash, hash);
        if (sameSecret && e.expiresAt > now) {
            return e.enabled ? DONE : CompletableFuture.failedFuture(new FleetException(FleetError.API_KEY_NOT_ENABLED));
        }
        // An ended entry for the same secret needs only the key's validity, which the port may check many at a time.
        return (sameSecret ? apiKeys.recheck(key) : apiKeys.authenticate(key)).thenApply(result -> {
            boolean enabled = result == ApiKeys.AuthResult.VALID;
            put(key.id(), hash, enabled);
            if (!enabled) {
                throw new FleetException(FleetError.API_KEY_NOT_ENABLED);
            }
            return null;
        });
    }

    /** Records a key just created by this server as valid (saves the first checkin a round trip). */
    public void remember(ApiKey key) {
        put(key.id(), sha256(key.key()), true);
    }

    /** Forgets a key so that the next request checks it again (agent made inactive, key invalidated). */
    public void forget(String keyId) {
        cache.remove(keyId);
    }

    private void put(String id, byte[] hash, boolean enabled) {
        if (cache.size() >= maxEntries) {
            evictSome();
        }
        long jitterMillis = jitter.isZero() ? 0 : ThreadLocalRandom.current().nextLong(jitter.toMillis());
        cache.put(id, new Entry(hash, enabled, clock.millis() + ttl.toMillis() - jitterMillis));
    }

    private void evictSome() {
        long now = clock.millis();
        cache.values().removeIf(e -> e.expiresAt <= now);
        // Still full: drop an arbitrary tenth; the cost is one extra authentication round trip each.
        Iterator<String> it = cache.keySet().iterator();
        for (int i = 0; i < maxEntries / 10 + 1 && it.hasNext() && cache.size() >= maxEntries; i++) {
            it.next();
            it.remove();
        }
    }

    static byte[] sha256(String secret) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private record Entry(byte[] secretHash, boolean enabled, long expiresAt) {
    }
}
