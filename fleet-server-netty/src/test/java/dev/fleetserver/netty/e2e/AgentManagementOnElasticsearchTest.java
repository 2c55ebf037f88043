package dev.fleetserver.netty.e2e;

import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Every management test again, on a real Elasticsearch of its own; the Fleet indices are removed between tests so
 * each starts from an empty cluster, as each embedded-store test starts from an empty directory.
 */
class AgentManagementOnElasticsearchTest extends AgentManagementTest {
    private static ElasticsearchTestCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = ElasticsearchTestCluster.startNew();
    }

    @AfterAll
    static void stopCluster() {
        cluster.stop();
    }

    @Override
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.onElasticsearch(() -> cluster);
    }

    /** As Kibana would (the service account may only read {@code .fleet-secrets}); no _fleet/secret API here. */
    @Override
    protected void storeSecret(String id, String value) {
        cluster.request("PUT", "/.fleet-secrets/_doc/" + id + "?refresh=true", "{\"value\":\"" + value + "\"}");
    }

    @Override
    protected void afterStop() {
        cluster.request("DELETE", "/.fleet-agents,.fleet-actions,.fleet-actions-results,.fleet-policies,"
                + ".fleet-enrollment-api-keys,.fleet-artifacts,.fleet-secrets?ignore_unavailable=true", null);
    }
}
