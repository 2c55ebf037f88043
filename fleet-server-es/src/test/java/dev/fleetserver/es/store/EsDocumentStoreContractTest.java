package dev.fleetserver.es.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.DocumentStoreContract;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.es.testing.EsTestSupport;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The store contract, unchanged, against a real Elasticsearch with security on, as the fleet-server service account. */
class EsDocumentStoreContractTest extends DocumentStoreContract {
    private EsClient client;
    private EsDocumentStore store;

    @BeforeEach
    void open() {
        client = EsTestSupport.client(ElasticsearchTestCluster.shared());
        store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults());
    }

    @AfterEach
    void close() {
        store.close();
        client.close();
    }

    /** The fleet-server service account may only create and write indices under the Fleet patterns (e.g. {@code .fleet-actions*}). */
    @Override
    protected String indexPrefix() {
        return ".fleet-actions-contract-";
    }

    @Override
    protected DocumentStore store() {
        return store;
    }

    @Test
    void aWriteWithAnIdOverElasticsearchsLimitFailsAloneAndIsNoOutage() throws Exception {
        // Sent together, they would share one _bulk, which Elasticsearch refuses whole for one id that is too long.
        CompletableFuture<Long> tooLong = store.create(index, "x".repeat(513), Json.object().put("v", 1));
        CompletableFuture<Long> fine = store.create(index, "fine", Json.object().put("v", 1));

        assertThat(fine.get(30, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(0);
        assertThatThrownBy(() -> tooLong.get(30, TimeUnit.SECONDS))
                .hasCauseInstanceOf(StoreException.class)
                .cause().isNotInstanceOf(StoreException.Unavailable.class)
                .hasMessageContaining("longer than 512 bytes");
        assertThat(store.get(index, "fine").get(30, TimeUnit.SECONDS)).isPresent();
    }
}
