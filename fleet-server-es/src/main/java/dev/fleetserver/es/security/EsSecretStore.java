package dev.fleetserver.es.security;

import dev.fleetserver.core.secret.IndexSecretStore;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsResponse;
import dev.fleetserver.es.store.EsDocumentStore;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Secrets through the Fleet plugin's {@code GET /_fleet/secret/<id>} where the cluster has it (the only way into
 * {@code .fleet-secrets} on a real deployment), and from the index directly on clusters without the plugin.
 */
public final class EsSecretStore implements SecretStore {
    private static final Logger LOG = LoggerFactory.getLogger(EsSecretStore.class);

    private final EsClient client;
    private final IndexSecretStore fallback;
    private volatile Boolean plugin;

    public EsSecretStore(EsClient client, DocumentStore store) {
        this.client = client;
        this.fallback = new IndexSecretStore(store);
    }

    @Override
    public CompletableFuture<Map<String, String>> values(Set<String> ids) {
        if (Boolean.FALSE.equals(plugin)) {
            return fallback.values(ids);
        }
        List<String> list = List.copyOf(ids);
        var reads = list.stream().map(id -> client.send(EsClient.Request.get("/_fleet/secret/" + EsDocumentStore.enc(id)))).toList();
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            Map<String, String> out = new HashMap<>();
            for (int i = 0; i < list.size(); i++) {
                EsResponse r = reads.get(i).join();
                if (r.ok()) {
                    plugin = Boolean.TRUE;
                    out.put(list.get(i), r.json().path("value").asText());
                } else if (r.status() == 404 && Boolean.TRUE.equals(plugin)) {
                    LOG.warn("secret {} not found; left unresolved", list.get(i));
                } else if (!Boolean.TRUE.equals(plugin) && (r.status() == 400 || r.status() == 404 || r.status() == 405)) {
                    // Reads started together all probe; the first to learn logs it, every one of them falls back.
                    if (plugin == null) {
                        LOG.info("no _fleet/secret API in this cluster ({}); reading .fleet-secrets directly", r.describe());
                    }
                    plugin = Boolean.FALSE;
                    return fallback.values(ids);
                } else {
                    throw new StoreException.Unavailable("reading secret " + list.get(i) + ": " + r.describe(), null);
                }
            }
            return CompletableFuture.completedFuture(out);
        });
    }
}
