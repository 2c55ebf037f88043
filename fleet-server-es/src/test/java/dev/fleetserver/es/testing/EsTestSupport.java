package dev.fleetserver.es.testing;

import dev.fleetserver.core.metrics.FleetMetrics;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** Clients of the shared test cluster, authenticated as the fleet-server service account (as the server is). */
public final class EsTestSupport {
    private EsTestSupport() {
    }

    /** A plain client of the cluster. */
    public static EsClient client(ElasticsearchTestCluster cluster) {
        return client(cluster, FleetMetrics.NONE);
    }

    /**
     * A client that counts in {@code requests} every request it sends to {@code api} ({@code _mget},
     * {@code _security}…): what Elasticsearch really receives.
     */
    public static EsClient countingClient(ElasticsearchTestCluster cluster, String api, AtomicInteger requests) {
        return client(cluster, new FleetMetrics() {
            @Override
            public void elasticsearchRequest(String requestApi, int status, long nanos) {
                if (requestApi.equals(api)) {
                    requests.incrementAndGet();
                }
            }
        });
    }

    private static EsClient client(ElasticsearchTestCluster cluster, FleetMetrics metrics) {
        return new EsClient(new EsConfig(List.of(cluster.httpUri()), "http", cluster.serviceToken(), List.of(), Map.of(),
                Duration.ofSeconds(30)), metrics);
    }
}
