package dev.fleetserver.es.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.store.EsDocumentStore;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.es.testing.EsTestSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Secrets on a cluster without the Fleet plugin (the test cluster has none): the store finds out on its first reads
 * and then reads {@code .fleet-secrets} directly.
 */
class EsSecretStoreTest {
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
    private final String tag = UUID.randomUUID().toString().substring(0, 8);
    private EsClient client;
    private EsDocumentStore store;

    @BeforeEach
    void open() {
        client = EsTestSupport.client(cluster);
        store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults());
    }

    @AfterEach
    void close() {
        store.close();
        client.close();
    }

    @Test
    void readsStartedTogetherBeforeThePluginIsKnownToBeMissingAllResolve() throws Exception {
        String id = "secret-" + tag;
        cluster.request("PUT", "/.fleet-secrets/_doc/" + id + "?refresh=true", "{\"value\":\"v-" + tag + "\"}");
        EsSecretStore secrets = new EsSecretStore(client, store);

        // All probe the plugin's API before any answer is back; whichever learns first must not fail the others.
        List<CompletableFuture<Map<String, String>>> reads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            reads.add(secrets.values(Set.of(id)));
        }

        for (CompletableFuture<Map<String, String>> read : reads) {
            assertThat(read.get(30, TimeUnit.SECONDS)).containsExactly(Map.entry(id, "v-" + tag));
        }
        assertThat(secrets.values(Set.of(id)).get(30, TimeUnit.SECONDS)).containsEntry(id, "v-" + tag);
    }
}
