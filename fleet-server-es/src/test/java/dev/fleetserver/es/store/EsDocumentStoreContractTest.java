package dev.fleetserver.es.store;

import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.DocumentStoreContract;
import dev.fleetserver.es.EsClient;
import dev.fleetserver.es.EsDocumentStore;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

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
}
