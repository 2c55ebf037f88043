package dev.fleetserver.core.secret;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** The secret-values port: Kibana stores secrets in {@code .fleet-secrets}; policies and actions refer to them by id. */
public interface SecretStore {

    /** The values of those ids that exist; a missing secret is simply absent from the map (the original skips it). */
    CompletableFuture<Map<String, String>> values(Set<String> ids);
}
