package dev.fleetserver.es.store;

import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.DocumentStoreContract;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The store contract, unchanged, with every write on the high-volume path (sent without {@code refresh}) into
 * indices Elasticsearch never refreshes on its own: whatever a search sees, the store made searchable.
 */
class UnrefreshedStoreContractTest extends DocumentStoreContract {
    private EsClient client;
    private EsDocumentStore store;

    @BeforeEach
    void open() {
        ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
        UnrefreshedIndices.installTemplate(cluster);
        client = UnrefreshedIndices.client(cluster);
        store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults(), index -> true);
    }

    @AfterEach
    void close() {
        store.close();
        client.close();
    }

    @Override
    protected String indexPrefix() {
        return UnrefreshedIndices.PREFIX + "contract-";
    }

    @Override
    protected DocumentStore store() {
        return store;
    }
}
