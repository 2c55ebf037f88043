package dev.fleetserver.es.store;

import dev.fleetserver.es.EsClient;
import dev.fleetserver.es.EsConfig;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Clients of the shared test cluster, authenticated as the fleet-server service account (as the server is). */
final class EsTestSupport {
    private EsTestSupport() {
    }

    static EsClient client(ElasticsearchTestCluster cluster) {
        return new EsClient(new EsConfig(List.of(cluster.httpUri()), "http", cluster.serviceToken(), List.of(), Map.of(),
                Duration.ofSeconds(30)));
    }
}
