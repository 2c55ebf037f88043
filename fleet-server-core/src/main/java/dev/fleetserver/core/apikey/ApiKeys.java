package dev.fleetserver.core.apikey;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;

/**
 * The API-key port: Elasticsearch security in production, hashed keys in the embedded store otherwise.
 * Implementations never log or persist a secret in clear.
 */
public interface ApiKeys {

    /**
     * Creates a key.
     *
     * @param name            the key's name (the agent id for access keys)
     * @param roleDescriptors Elasticsearch role descriptors, stored as given
     * @param metadata        Elasticsearch key metadata ({@code agent_id}, {@code managed_by}, {@code type}, …)
     */
    CompletableFuture<ApiKey> create(String name, ObjectNode roleDescriptors, ObjectNode metadata);

    /**
     * Checks a presented key. Completes with {@link AuthResult#VALID} or {@link AuthResult#DISABLED}; fails with
     * {@link dev.fleetserver.core.error.FleetException} {@code ErrUnauthorized} when the key is unknown or its secret is
     * wrong, or with a {@link dev.fleetserver.core.store.StoreException.Unavailable} when the check could not be made.
     */
    CompletableFuture<AuthResult> authenticate(ApiKey key);

    /**
     * Checks again a key whose secret {@link #authenticate} accepted before (a cached key whose entry ended), with
     * the results and failures of {@link #authenticate}. An implementation may check such keys for validity alone
     * (not invalidated, not expired: the secret of a key id never changes), many in one request, holding a re-check
     * up to a second to gather them. The default authenticates again.
     */
    default CompletableFuture<AuthResult> recheck(ApiKey key) {
        return authenticate(key);
    }

    /** Invalidates the keys with these ids; unknown ids are ignored. */
    CompletableFuture<Void> invalidate(Collection<String> ids);

    /** Result of a successful authentication round trip. */
    enum AuthResult {
        VALID, DISABLED
    }
}
