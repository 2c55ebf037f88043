package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The metrics listener ({@code http.*}): Prometheus text on {@code /metrics}, the original's {@code /stats}. */
class MetricsEndpointTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();

    private void startWithMetrics() throws Exception {
        fleet.startWithRoot(root -> root.putObject("http")
                .put("enabled", true).put("host", "127.0.0.1").put("port", 0));
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.daemon().metricsPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String scrape() throws Exception {
        HttpResponse<String> r = get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** The sum of the samples of {@code name} whose labels include every one of {@code labels} ({@code k="v"}). */
    static double sample(String scrape, String name, String... labels) {
        double sum = 0;
        boolean found = false;
        for (String line : scrape.split("\n")) {
            if (line.startsWith("#") || !(line.startsWith(name + "{") || line.startsWith(name + " "))) {
                continue;
            }
            int end = line.lastIndexOf(' ');
            String series = line.substring(0, end);
            if (List.of(labels).stream().allMatch(series::contains)) {
                sum += Double.parseDouble(line.substring(end + 1));
                found = true;
            }
        }
        assertThat(found).as("a sample of %s %s in:%n%s", name, List.of(labels), scrape).isTrue();
        return sum;
    }

    @Test
    void theMetricsListenerIsOffUnlessEnabled() throws Exception {
        fleet.start();
        assertThat(fleet.daemon().metricsPort()).isEqualTo(-1);
    }

    @Test
    void metricsAreInPrometheusTextFormatAndRiseUnderTraffic() throws Exception {
        startWithMetrics();
        HttpResponse<String> first = get("/metrics");
        assertThat(first.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain; version=0.0.4");
        String before = first.body();
        assertThat(before).contains("# TYPE fleet_http_requests_total counter");
        assertThat(sample(before, "fleet_http_requests_total", "route=\"checkin\"")).isZero();
        assertThat(sample(before, "jvm_memory_used_bytes", "area=\"heap\"")).isPositive();
        assertThat(sample(before, "netty_allocator_memory_used_bytes", "type=\"direct\"")).isNotNegative();
        assertThat(sample(before, "fleet_checkins_parked")).isZero();
        assertThat(sample(before, "fleet_http_body_memory_limit_bytes")).isPositive();
        assertThat(sample(before, "fleet_http_body_memory_bytes")).isNotNegative();
        assertThat(sample(before, "fleet_http_body_memory_refusals_total")).isNotNegative();

        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        assertThat(fleet.agent().checkin(id, key, AgentClient.checkinBody("starting")).status()).isEqualTo(200);
        assertThat(fleet.agent().acks(id, key, AgentClient.ackEvents(id, "policy:default:1")).status()).isEqualTo(200);
        assertThat(fleet.agent().checkin(id, "bm90OmEta2V5", AgentClient.checkinBody("online")).status()).isEqualTo(401);

        ObjectNode upToDate = AgentClient.checkinBody("online");
        upToDate.put("agent_policy_id", "default");
        upToDate.put("policy_revision_idx", 1);
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(id, key, upToDate);
        E2eSupport.awaitParked(fleet.daemon(), 1);
        String during = scrape();
        assertThat(sample(during, "fleet_checkins_parked")).isEqualTo(1);
        assertThat(sample(during, "fleet_http_requests_active", "route=\"checkin\"")).isEqualTo(1);

        E2eSupport.management(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        assertThat(parked.get(10, TimeUnit.SECONDS).json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");

        String after = scrape();
        assertThat(sample(after, "fleet_http_requests_total", "route=\"checkin\"")).isEqualTo(3);
        assertThat(sample(after, "fleet_http_requests_total", "route=\"enroll\"")).isEqualTo(1);
        assertThat(sample(after, "fleet_http_requests_total", "route=\"acks\"")).isEqualTo(1);
        assertThat(sample(after, "fleet_http_requests_active", "route=\"checkin\"")).isZero();
        assertThat(sample(after, "fleet_http_responses_errors_total", "route=\"checkin\"", "class=\"4xx\"")).isEqualTo(1);
        assertThat(sample(after, "fleet_http_body_in_bytes_total", "route=\"checkin\"")).isPositive();
        assertThat(sample(after, "fleet_http_body_out_bytes_total", "route=\"enroll\"")).isPositive();
        assertThat(sample(after, "fleet_http_connections_opened_total")).isPositive();
        assertThat(sample(after, "fleet_fanout_latency_seconds_count", "cause=\"policy\"")).isEqualTo(1);
        assertThat(sample(after, "fleet_store_requests_seconds_count", "backend=\"embedded\"", "operation=\"bulk\"")).isPositive();
        assertThat(sample(after, "fleet_store_errors_total", "operation=\"bulk\"")).isZero();
    }

    @Test
    void anActionWakingAParkedAgentIsTimedAsActionFanOut() throws Exception {
        startWithMetrics();
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(),
                E2eSupport.runningPolicy("default", 1));
        E2eSupport.awaitParked(fleet.daemon(), 1);
        E2eSupport.indexAction(fleet.daemon(), "doc-1", E2eSupport.settingsAction("action-1", a.id()));
        assertThat(parked.get(10, TimeUnit.SECONDS).json().at("/actions/0/id").asText()).isEqualTo("action-1");

        String after = scrape();
        assertThat(sample(after, "fleet_fanout_latency_seconds_count", "cause=\"action\"")).isEqualTo(1);
        assertThat(sample(after, "fleet_fanout_latency_seconds_count", "cause=\"policy\"")).isZero();
        assertThat(sample(after, "fleet_fanout_latency_seconds_bucket", "cause=\"action\"", "le=\"+Inf\"")).isEqualTo(1);
    }

    @Test
    void statsHasTheOriginalsShape() throws Exception {
        startWithMetrics();
        fleet.agent().enroll(fleet.daemon().enrollmentToken());

        HttpResponse<String> r = get("/stats");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/json");
        JsonNode stats = Json.MAPPER.readTree(r.body());
        assertThat(stats.at("/beat/info/name").asText()).isEqualTo("fleet-server");
        assertThat(stats.at("/beat/info/version").asText()).isNotEmpty();
        assertThat(stats.at("/beat/info/uptime/ms").isIntegralNumber()).isTrue();
        JsonNode http = stats.get("http_server");
        for (String field : List.of("tcp_open", "tcp_close", "tcp_active", "tcp_rejected")) {
            assertThat(http.get(field).isIntegralNumber()).as(field).isTrue();
        }
        assertThat(http.get("tcp_open").asLong()).isPositive();
        for (String route : List.of("checkin", "enroll", "artifacts", "acks", "status", "uploadStart", "uploadChunk",
                "uploadEnd", "deliverFile", "getPGPKey", "auditUnenroll")) {
            JsonNode n = http.at("/routes/" + route);
            for (String field : List.of("active", "total", "limit_rate", "limit_max", "fail", "drop", "body_in", "body_out")) {
                assertThat(n.get(field)).as(route + "." + field).isNotNull();
                assertThat(n.get(field).isIntegralNumber()).as(route + "." + field).isTrue();
            }
        }
        assertThat(http.at("/routes/enroll/total").asLong()).isEqualTo(1);
        assertThat(http.at("/routes/enroll/body_in").asLong()).isPositive();
        assertThat(stats.at("/fleet/checkins_parked").asInt()).isZero();
        assertThat(stats.at("/fleet/store/backend").asText()).isEqualTo("embedded");
        assertThat(stats.at("/fleet/fanout/policy/count").isIntegralNumber()).isTrue();
        assertThat(stats.at("/jvm/heap_used").asLong()).isPositive();
        assertThat(stats.at("/netty/allocator/direct_arenas").isIntegralNumber()).isTrue();
    }

    @Test
    void otherPathsAreNotFoundAndOnlyReadsAreAllowed() throws Exception {
        startWithMetrics();
        assertThat(get("/nope").statusCode()).isEqualTo(404);
        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.daemon().metricsPort()
                        + "/metrics"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }
}
