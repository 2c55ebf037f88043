package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.MetricsEndpointTest.sample;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** On a real Elasticsearch, its requests are measured per API, beside the store calls they serve. */
class MetricsOnElasticsearchTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.onElasticsearch(ElasticsearchTestCluster::shared);

    @Test
    void elasticsearchRequestsAndStoreCallsAreMeasured() throws Exception {
        String policy = "policy-" + UUID.randomUUID();
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies",
                "{\"id\":\"" + policy + "\",\"name\":\"" + policy + "\"}");
        String token = E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"" + policy + "\"}").at("/item/api_key").asText();
        JsonNode item = fleet.agent().enroll(token);
        assertThat(fleet.agent().checkin(item.get("id").asText(), item.get("access_api_key").asText(),
                AgentClient.checkinBody("starting")).status()).isEqualTo(200);

        String scrape = fleet.daemon().metrics().scrape();
        assertThat(sample(scrape, "fleet_elasticsearch_requests_seconds_count", "api=\"_security\"")).isPositive();
        assertThat(sample(scrape, "fleet_elasticsearch_requests_seconds_count", "api=\"_bulk\"")).isPositive();
        assertThat(sample(scrape, "fleet_elasticsearch_errors_total", "reason=\"unreachable\"")).isZero();
        assertThat(sample(scrape, "fleet_store_requests_seconds_count", "backend=\"elasticsearch\"", "operation=\"search\""))
                .isPositive();
        JsonNode stats = fleet.daemon().metrics().stats();
        assertThat(stats.at("/fleet/elasticsearch/_bulk/count").asLong()).isPositive();
        assertThat(stats.at("/fleet/store/backend").asText()).isEqualTo("elasticsearch");
    }
}
