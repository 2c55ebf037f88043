package dev.fleetserver.es.store;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsConfig;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Test indices that Elasticsearch never refreshes on its own: every index named {@link #PREFIX}{@code *} gets
 * {@code refresh_interval: -1} from an index template, so a document in them is searchable only after an explicit
 * refresh, and {@code external_total} in their refresh stats counts exactly the refreshes someone asked for. That
 * turns "the store refreshed before searching" into a deterministic outcome instead of a race with the 1 s timer.
 */
final class UnrefreshedIndices {
    /** Under {@code .fleet-actions*}, which the fleet-server service account may create and write. */
    static final String PREFIX = ".fleet-actions-unrefreshed-";

    private UnrefreshedIndices() {
    }

    /** Installs (or re-installs, idempotently) the template; call before the store creates any such index. */
    static void installTemplate(ElasticsearchTestCluster cluster) {
        cluster.request("PUT", "/_index_template/fleet-test-unrefreshed", """
                {"index_patterns": ["%s*"], "priority": 500,
                 "template": {"settings": {"index.refresh_interval": "-1"}}}""".formatted(PREFIX));
    }

    /** A client authenticated as the fleet-server service account, as the server is. */
    static EsClient client(ElasticsearchTestCluster cluster) {
        return new EsClient(new EsConfig(List.of(cluster.httpUri()), "http", cluster.serviceToken(), List.of(), Map.of(),
                Duration.ofSeconds(30)));
    }

    /** Refreshes of the index's primaries that make documents searchable (explicit ones: API, {@code refresh=true}). */
    static long searchRefreshes(ElasticsearchTestCluster cluster, String index) {
        try {
            JsonNode stats = Json.MAPPER.readTree(cluster.request("GET", "/" + index + "/_stats/refresh", null));
            JsonNode refresh = stats.path("_all").path("primaries").path("refresh");
            if (!refresh.has("external_total")) {
                throw new AssertionError("no refresh stats for " + index + ": " + stats);
            }
            return refresh.path("external_total").asLong();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
