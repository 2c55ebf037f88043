package dev.fleetserver.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FleetMetricsTest {

    @Test
    void anElasticsearchPathIsNamedByItsFirstUnderscoreSegment() {
        assertThat(FleetMetrics.elasticsearchApi("/.fleet-agents/_mget")).isEqualTo("_mget");
        assertThat(FleetMetrics.elasticsearchApi("/_bulk?refresh=false")).isEqualTo("_bulk");
        assertThat(FleetMetrics.elasticsearchApi("/_security/api_key")).isEqualTo("_security");
        assertThat(FleetMetrics.elasticsearchApi("/.fleet-agents/_doc/abc")).isEqualTo("_doc");
        assertThat(FleetMetrics.elasticsearchApi("/.fleet-policies")).isEqualTo("index");
        assertThat(FleetMetrics.elasticsearchApi("/agent_underscore_id/_search")).isEqualTo("_search");
    }
}
