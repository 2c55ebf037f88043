package dev.fleetserver.core.secret;

import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** Secrets read as documents of {@code .fleet-secrets} ({@code _id} = secret id, {@code value}). */
public final class IndexSecretStore implements SecretStore {
    private final DocumentStore store;

    public IndexSecretStore(DocumentStore store) {
        this.store = store;
    }

    @Override
    public CompletableFuture<Map<String, String>> values(Set<String> ids) {
        List<String> list = List.copyOf(ids);
        var reads = list.stream().map(id -> store.get(FleetIndex.SECRETS, id)).toList();
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenApply(v -> {
            Map<String, String> out = new HashMap<>();
            for (int i = 0; i < list.size(); i++) {
                String id = list.get(i);
                reads.get(i).join().ifPresent(d -> {
                    String value = Json.text(d.source(), "value");
                    if (value != null) {
                        out.put(id, value);
                    }
                });
            }
            return out;
        });
    }
}
