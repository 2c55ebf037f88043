package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.netty.FleetDaemon;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kibana sees the server as its Fleet Server, on the real Elasticsearch: with a Fleet Server policy written the way
 * Kibana writes it, the server's own {@code .fleet-agents} document makes Kibana's status rules find it online with
 * healthy components, turns degraded when Elasticsearch failed, offline five minutes (of Kibana's clock) after it
 * stops; the policy's limits apply without a restart; several servers each register; an unenrolled server comes back.
 * Its own cluster, since one test stops the node.
 */
class FleetServerAgentOnElasticsearchTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static ElasticsearchTestCluster cluster;

    @TempDir
    Path tmp;
    private final List<FleetDaemon> daemons = new ArrayList<>();

    @BeforeAll
    static void startCluster() {
        cluster = ElasticsearchTestCluster.startNew();
    }

    @AfterAll
    static void stopCluster() {
        cluster.stop();
    }

    @AfterEach
    void stop() {
        daemons.forEach(FleetDaemon::stop);
    }

    /** A server whose heartbeat is 300 ms, on {@code policyId} (null: the default Fleet Server policy). */
    private FleetDaemon start(String name, String policyId) throws Exception {
        FleetDaemon d = FleetDaemon.start(TestFleet.config(tmp.resolve(name),
                server -> server.with("timeouts").put("checkin_timestamp", "300ms"),
                root -> {
                    ObjectNode es = root.putObject("output").putObject("elasticsearch");
                    es.putArray("hosts").add(cluster.httpUri());
                    es.put("service_token", cluster.serviceToken());
                    root.putObject("http").put("enabled", true).put("host", "127.0.0.1").put("port", 0);
                },
                input -> {
                    if (policyId != null) {
                        input.putObject("policy").put("id", policyId);
                    }
                }));
        daemons.add(d);
        return d;
    }

    /**
     * A revision of a Fleet Server policy as Kibana deploys it to {@code .fleet-policies}, its fleet-server input
     * carrying {@code limits} as {@code server.limits} when given. Written after a server started: the index must
     * exist with its mappings (on a real deployment Elasticsearch's Fleet plugin makes it), not be made dynamically.
     */
    private static void kibanaPolicy(String policyId, long revision, boolean defaultFleetServer, String inputId,
                                     String limits) throws Exception {
        ObjectNode doc = Json.object();
        doc.put("@timestamp", Instant.now().toString());
        doc.put("policy_id", policyId);
        doc.put("revision_idx", revision);
        doc.put("coordinator_idx", 0);
        doc.put("default_fleet_server", defaultFleetServer);
        ObjectNode data = doc.putObject("data");
        data.put("id", policyId);
        data.put("revision", revision);
        data.putObject("outputs").putObject("default").put("type", "elasticsearch").putArray("hosts").add(cluster.httpUri());
        ObjectNode input = data.putArray("inputs").addObject();
        input.put("id", inputId);
        input.put("name", "fleet_server-1");
        input.put("revision", 1);
        input.put("type", "fleet-server");
        input.put("use_output", "default");
        input.putObject("data_stream").put("namespace", "default");
        input.putObject("meta").putObject("package").put("name", "fleet_server").put("version", "1.6.0");
        if (limits != null) {
            input.putObject("server").set("limits", Json.MAPPER.readTree(limits));
        }
        cluster.request("PUT", "/.fleet-policies/_doc/" + UUID.randomUUID() + "?refresh=true", Json.string(doc));
    }

    private static String newPolicyId() {
        return "fleet-server-policy-" + UUID.randomUUID();
    }

    private static void await(Duration limit, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not true after " + limit.toMillis() + " ms: " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    private static List<JsonNode> agents(String policyId) {
        try {
            return KibanaFleetServerView.agentsOf(cluster, policyId);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static Map<String, Integer> statusesNow(String policyId) {
        return KibanaFleetServerView.statuses(agents(policyId), Instant.now());
    }

    private static JsonNode stats(FleetDaemon fleet) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.metricsPort() + "/stats"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        return Json.MAPPER.readTree(r.body());
    }

    private static int status(FleetDaemon fleet) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.port() + "/api/status"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void kibanaFindsTheServerOnlineOnItsDefaultFleetServerPolicyWithHealthyComponentsAndOfflineFiveMinutesAfterItStops()
            throws Exception {
        String policy = newPolicyId();
        String inputId = "fleet-server-fleet_server-" + UUID.randomUUID();
        FleetDaemon fleet = start("a", null);
        kibanaPolicy(policy, 1, true, inputId, null);

        await(Duration.ofSeconds(20), "the server online in Kibana's view of " + policy,
                () -> statusesNow(policy).getOrDefault("online", 0) == 1);
        JsonNode doc = agents(policy).get(0);
        assertThat(KibanaFleetServerView.hasActive(statusesNow(policy))).isTrue();
        assertThat(doc.at("/agent/id").asText()).isEqualTo(fleet.core().self().agentId());
        assertThat(doc.get("last_checkin_status").asText()).as("%s", doc).isEqualTo("online");
        assertThat(doc.get("policy_revision_idx").asLong()).isEqualTo(1);
        JsonNode component = doc.at("/components/0");
        assertThat(component.get("id").asText()).isEqualTo("fleet-server-default");
        assertThat(component.get("status").asText()).isEqualTo("HEALTHY");
        // Kibana matches the input unit against the package policy's input id and the input type.
        assertThat(component.at("/units/0/id").asText()).isEqualTo("fleet-server-default-" + inputId);
        assertThat(component.at("/units/0/status").asText()).isEqualTo("HEALTHY");
        assertThat(component.at("/units/1/type").asText()).isEqualTo("output");
        assertThat(doc.at("/local_metadata/elastic/agent/upgradeable").asBoolean(true)).isFalse();
        assertThat(doc.at("/local_metadata/elastic/agent/version").asText()).isNotEmpty();
        assertThat(doc.at("/local_metadata/host/hostname").asText()).isNotEmpty();
        assertThat(stats(fleet).at("/fleet/self/state").asText()).isEqualTo("HEALTHY");

        fleet.stop();
        JsonNode last = agents(policy).get(0);
        Instant lastCheckin = Instant.parse(last.get("last_checkin").asText());
        assertThat(KibanaFleetServerView.status(last, lastCheckin.plus(Duration.ofMinutes(4)))).isEqualTo("online");
        Map<String, Integer> later = KibanaFleetServerView.statuses(List.of(last),
                lastCheckin.plus(Duration.ofMinutes(5)).plusSeconds(1));
        assertThat(later).containsEntry("offline", 1);
        assertThat(KibanaFleetServerView.hasActive(later)).isFalse();
    }

    @Test
    void twoServersOnOneClusterEachRegisterAndARestartKeepsTheAgentId() throws Exception {
        String policy = newPolicyId();
        FleetDaemon a = start("a", policy);
        FleetDaemon b = start("b", policy);
        kibanaPolicy(policy, 1, false, "fs-input", null);
        await(Duration.ofSeconds(20), "two servers online", () -> statusesNow(policy).getOrDefault("online", 0) == 2);
        String idOfA = a.core().self().agentId();
        assertThat(idOfA).isNotEqualTo(b.core().self().agentId());

        a.stop();
        FleetDaemon again = start("a", policy);
        assertThat(again.core().self().agentId()).isEqualTo(idOfA);
        await(Duration.ofSeconds(20), "the restarted server's heartbeat",
                () -> agents(policy).stream().filter(d -> d.at("/agent/id").asText().equals(idOfA))
                        .anyMatch(d -> Instant.parse(d.get("last_checkin").asText()).isAfter(Instant.now().minusSeconds(2))));
        assertThat(agents(policy)).hasSize(2);
        assertThat(statusesNow(policy)).containsEntry("online", 2);
    }

    @Test
    void aLimitChangeInTheFleetServerPolicyIsInForceWithinTwoSecondsWithoutARestart() throws Exception {
        String policy = newPolicyId();
        FleetDaemon fleet = start("a", policy);
        kibanaPolicy(policy, 1, false, "fs-input", "{\"checkin_limit\":{\"max\":5000}}");
        await(Duration.ofSeconds(20), "revision 1's limits in force",
                () -> statsQuietly(fleet).at("/fleet/limits/routes/checkin/max").asLong() == 5000);

        kibanaPolicy(policy, 2, false, "fs-input", "{\"max_connections\":123,\"checkin_limit\":{\"max\":7}}");
        long written = System.nanoTime();
        await(Duration.ofSeconds(2), "revision 2's limits in force",
                () -> statsQuietly(fleet).at("/fleet/limits/routes/checkin/max").asLong() == 7);
        System.out.println("policy limits in force " + (System.nanoTime() - written) / 1_000_000 + " ms after the write");
        JsonNode limits = stats(fleet).at("/fleet/limits");
        assertThat(limits.get("max_connections").asInt()).isEqualTo(123);
        assertThat(fleet.server().admission().limits().route("checkin").max()).isEqualTo(7);
        await(Duration.ofSeconds(10), "the document follows revision 2",
                () -> agents(policy).get(0).get("policy_revision_idx").asLong() == 2);
    }

    private static JsonNode statsQuietly(FleetDaemon fleet) {
        try {
            return stats(fleet);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void elasticsearchFailingMakesTheServerDegradedInKibanaOnceItIsBackAndStatus503Meanwhile() throws Exception {
        String policy = newPolicyId();
        FleetDaemon fleet = start("a", policy);
        kibanaPolicy(policy, 1, false, "fs-input", null);
        await(Duration.ofSeconds(20), "online", () -> statusesNow(policy).getOrDefault("online", 0) == 1);

        cluster.stopNode();
        try {
            await(Duration.ofSeconds(20), "/api/status 503 while Elasticsearch is down", () -> status(fleet) == 503);
        } finally {
            cluster.startNode();
        }
        await(Duration.ofSeconds(30), "degraded in Kibana's view",
                () -> statusesNow(policy).getOrDefault("degraded", 0) == 1);
        JsonNode doc = agents(policy).get(0);
        assertThat(doc.get("last_checkin_status").asText()).isEqualTo("DEGRADED");
        assertThat(doc.get("last_checkin_message").asText()).contains("Elasticsearch request");
        assertThat(doc.at("/components/0/status").asText()).isEqualTo("DEGRADED");
        assertThat(doc.at("/components/0/units/0/message").asText()).contains("Elasticsearch request");
        assertThat(doc.get("unhealthy_reason")).isNotEmpty();
        // Degraded is not active: Kibana shows its "Fleet Server is unhealthy" callout.
        assertThat(KibanaFleetServerView.hasActive(statusesNow(policy))).isFalse();
        assertThat(status(fleet)).isEqualTo(200);
    }

    @Test
    void aForceUnenrollOfTheServersAgentIsAnsweredByRegisteringAgain() throws Exception {
        String policy = newPolicyId();
        FleetDaemon fleet = start("a", policy);
        kibanaPolicy(policy, 1, false, "fs-input", null);
        await(Duration.ofSeconds(20), "online", () -> statusesNow(policy).getOrDefault("online", 0) == 1);
        String id = fleet.core().self().agentId();

        // What Kibana writes on a forced unenroll.
        String now = Instant.now().toString();
        cluster.request("POST", "/.fleet-agents/_update/" + id + "?refresh=true&retry_on_conflict=5",
                "{\"doc\":{\"active\":false,\"unenrolled_at\":\"" + now + "\",\"unenrollment_started_at\":\"" + now
                        + "\",\"updated_at\":\"" + now + "\"}}");
        await(Duration.ofSeconds(20), "registered again", () -> {
            JsonNode d = agents(policy).get(0);
            return d.path("active").asBoolean() && !d.has("unenrolled_at");
        });
        assertThat(statusesNow(policy)).containsEntry("online", 1);
        assertThat(fleet.core().status().state().name()).isEqualTo("HEALTHY");
    }
}
