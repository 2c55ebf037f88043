package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.config.ConfigLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real server on a real Elasticsearch (security on, the fleet-server service token), as in production: state in
 * the {@code .fleet-*} indices, several servers on one cluster, documents written by others (Kibana) picked up.
 */
class ElasticsearchBackendTest {
    @TempDir
    Path tmp;
    private final List<FleetDaemon> daemons = new ArrayList<>();
    private ElasticsearchTestCluster ownCluster;

    @AfterEach
    void stop() {
        daemons.forEach(FleetDaemon::stop);
        if (ownCluster != null) {
            ownCluster.stop();
        }
    }

    @Test
    void anAgentEnrollsChecksInAcksAndIsWokenByARevisionKibanaWrites() throws Exception {
        ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
        FleetDaemon fleet = start(cluster, "a");
        String policy = newPolicy(fleet);
        String token = enrollmentToken(fleet, policy);
        AgentClient agent = new AgentClient(fleet.port());

        JsonNode item = agent.enroll(token);
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        JsonNode stored = doc(cluster, ".fleet-agents", id);
        assertThat(stored.get("policy_id").asText()).isEqualTo(policy);
        assertThat(stored.get("access_api_key_id").asText()).isEqualTo(item.get("access_api_key_id").asText());
        JsonNode apiKey = Json.MAPPER.readTree(cluster.request("GET", "/_security/api_key?id=" + item.get("access_api_key_id").asText(), null));
        assertThat(apiKey.at("/api_keys/0/metadata/agent_id").asText()).isEqualTo(id);

        AgentClient.Reply first = agent.checkin(id, key, AgentClient.checkinBody("starting"));
        assertThat(first.json().at("/actions/0/id").asText()).isEqualTo("policy:" + policy + ":1");
        assertThat(agent.acks(id, key, AgentClient.ackEvents(id, "policy:" + policy + ":1")).status()).isEqualTo(200);
        assertThat(doc(cluster, ".fleet-agents", id).get("policy_revision_idx").asLong()).isEqualTo(1);

        CompletableFuture<AgentClient.Reply> parked = agent.checkinAsync(id, key, report(policy, 1));
        awaitParked(fleet, id);
        // Kibana writes a new revision straight into the index, with its own document id.
        ObjectNode revision = Json.object();
        revision.put("@timestamp", Instant.now().toString());
        revision.put("policy_id", policy);
        revision.put("revision_idx", 2);
        revision.put("coordinator_idx", 0);
        ObjectNode data = revision.putObject("data");
        data.put("id", policy);
        data.put("revision", 2);
        data.putObject("outputs").putObject("default").put("type", "elasticsearch").putArray("hosts").add(cluster.httpUri());
        data.putArray("inputs");
        data.putObject("agent").putObject("logging").put("level", "debug");
        revision.put("default_fleet_server", false);
        long written = System.nanoTime();
        cluster.request("POST", "/.fleet-policies/_doc", Json.string(revision));

        AgentClient.Reply woken = parked.get(15, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(Duration.ofSeconds(2));
        assertThat(woken.json().at("/actions/0/id").asText()).isEqualTo("policy:" + policy + ":2");
        assertThat(woken.json().at("/actions/0/data/policy/agent/logging/level").asText()).isEqualTo("debug");

        fleet.core().checkin().flushPending().get(30, TimeUnit.SECONDS);
        JsonNode after = doc(cluster, ".fleet-agents", id);
        assertThat(after.get("last_checkin_status").asText()).isEqualTo("online");
        assertThat(after.get("agent_policy_id").asText()).isEqualTo(policy);
    }

    @Test
    void anActionWrittenByAnyoneReachesAParkedAgentWithinTwoSeconds() throws Exception {
        ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
        FleetDaemon fleet = start(cluster, "actions");
        String policy = newPolicy(fleet);
        AgentClient agent = new AgentClient(fleet.port());
        JsonNode item = agent.enroll(enrollmentToken(fleet, policy));
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        agent.checkin(id, key, AgentClient.checkinBody("starting"));
        agent.acks(id, key, AgentClient.ackEvents(id, "policy:" + policy + ":1"));
        CompletableFuture<AgentClient.Reply> parked = agent.checkinAsync(id, key, report(policy, 1));
        awaitParked(fleet, id);

        ObjectNode action = Json.object();
        action.put("action_id", "settings-" + UUID.randomUUID());
        action.put("type", "SETTINGS");
        action.putArray("agents").add(id);
        action.put("@timestamp", Instant.now().toString());
        action.put("expiration", Instant.now().plus(Duration.ofHours(1)).toString());
        action.putObject("data").put("log_level", "debug");
        long written = System.nanoTime();
        String docId = Json.MAPPER.readTree(cluster.request("POST", "/.fleet-actions/_doc", Json.string(action))).get("_id").asText();

        AgentClient.Reply woken = parked.get(15, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(Duration.ofSeconds(2));
        assertThat(woken.json().get("ack_token").asText()).isEqualTo(docId);
        assertThat(woken.json().at("/actions/0/id").asText()).isEqualTo(action.get("action_id").asText());
        assertThat(woken.json().at("/actions/0/data/log_level").asText()).isEqualTo("debug");

        assertThat(agent.acks(id, key, AgentClient.ackEvents(id, action.get("action_id").asText())).status()).isEqualTo(200);
        JsonNode result = doc(cluster, ".fleet-actions-results", action.get("action_id").asText() + ":" + id);
        assertThat(result.get("agent_id").asText()).isEqualTo(id);
    }

    @Test
    void twoServersOnOneClusterServeTheSameAgentAlternately() throws Exception {
        ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
        FleetDaemon a = start(cluster, "a");
        FleetDaemon b = start(cluster, "b");
        String policy = newPolicy(a);
        AgentClient viaA = new AgentClient(a.port());
        AgentClient viaB = new AgentClient(b.port());

        JsonNode item = viaA.enroll(enrollmentToken(a, policy));
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        assertThat(viaB.checkin(id, key, AgentClient.checkinBody("starting")).json().at("/actions/0/id").asText())
                .isEqualTo("policy:" + policy + ":1");
        assertThat(viaA.acks(id, key, AgentClient.ackEvents(id, "policy:" + policy + ":1")).status()).isEqualTo(200);

        CompletableFuture<AgentClient.Reply> parkedOnB = viaB.checkinAsync(id, key, report(policy, 1));
        awaitParked(b, id);
        management(a, "PUT", "/api/fleet/agent_policies/" + policy, "{\"agent\":{\"logging\":{\"level\":\"warning\"}}}");
        assertThat(parkedOnB.get(15, TimeUnit.SECONDS).json().at("/actions/0/id").asText()).isEqualTo("policy:" + policy + ":2");

        // Status seen last wins, whichever server flushes last: B saw the agent after A.
        viaA.checkin(id, key, withStatus(report(policy, 0), "DEGRADED"));
        viaB.checkin(id, key, withStatus(report(policy, 0), "online"));
        b.core().checkin().flushPending().get(30, TimeUnit.SECONDS);
        a.core().checkin().flushPending().get(30, TimeUnit.SECONDS);
        assertThat(doc(cluster, ".fleet-agents", id).get("last_checkin_status").asText()).isEqualTo("online");
    }

    @Test
    void anOutageAnswers503NotUnauthorizedKeepsParkedCheckinsAndRecoversByItself() throws Exception {
        ownCluster = ElasticsearchTestCluster.startNew();
        // A Fleet index that already exists (as Kibana's Fleet plugin would have made it) is never touched.
        ownCluster.request("PUT", "/.fleet-artifacts", "{\"mappings\":{\"_meta\":{\"owner\":\"kibana\"},\"dynamic\":true}}");
        FleetDaemon fleet = start(ownCluster, "outage");
        JsonNode artifacts = Json.MAPPER.readTree(ownCluster.request("GET", "/.fleet-artifacts/_mapping", null));
        assertThat(artifacts.at("/.fleet-artifacts/mappings/_meta/owner").asText()).isEqualTo("kibana");
        JsonNode agents = Json.MAPPER.readTree(ownCluster.request("GET", "/.fleet-agents/_mapping", null));
        assertThat(agents.at("/.fleet-agents/mappings/dynamic").asText()).isEqualTo("false");
        assertThat(agents.at("/.fleet-agents/mappings/properties/access_api_key_id/type").asText()).isEqualTo("keyword");
        AgentClient agent = new AgentClient(fleet.port());
        JsonNode item = agent.enroll(fleet.enrollmentToken());
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        agent.checkin(id, key, AgentClient.checkinBody("starting"));
        agent.acks(id, key, AgentClient.ackEvents(id, "policy:default:1"));
        CompletableFuture<AgentClient.Reply> parked = agent.checkinAsync(id, key, report("default", 1));
        awaitParked(fleet, id);

        ownCluster.stopNode();
        AgentClient.Reply enroll = agent.enroll(fleet.enrollmentToken(), AgentClient.enrollBody());
        assertThat(enroll.status()).isEqualTo(503);
        assertThat(enroll.json().get("error").asText()).isEqualTo("ServiceUnavailable");
        assertThat(Integer.parseInt(enroll.header("Retry-After"))).as("come back later, spread").isBetween(5, 15);
        AgentClient.Reply ack = agent.acks(id, key, AgentClient.ackEvents(id, "policy:default:1"));
        assertThat(ack.status()).isEqualTo(503);
        assertThat(parked).isNotDone();
        assertThat(fleet.core().checkin().registry().forAgent(id)).isNotNull();

        ownCluster.startNode();
        E2eSupport.await(Duration.ofSeconds(60), "the server serves again after the cluster came back",
                () -> agent.acks(id, key, AgentClient.ackEvents(id, "policy:default:1")).status() == 200);
        management(fleet, "PUT", "/api/fleet/agent_policies/default", "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        assertThat(parked.get(30, TimeUnit.SECONDS).json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");
    }

    private FleetDaemon start(ElasticsearchTestCluster cluster, String name) throws Exception {
        ObjectNode root = Json.object();
        ObjectNode es = root.putObject("output").putObject("elasticsearch");
        es.putArray("hosts").add(cluster.httpUri());
        if (name.equals("b")) {
            // The other way operators give the token: a file, as the original's service_token_path.
            Path tokenFile = tmp.resolve(name + "-service-token");
            java.nio.file.Files.writeString(tokenFile, cluster.serviceToken() + "\n");
            es.put("service_token_path", tokenFile.toString());
        } else {
            es.put("service_token", cluster.serviceToken());
        }
        ObjectNode server = root.putArray("inputs").addObject().put("type", "fleet-server").putObject("server");
        server.put("host", "127.0.0.1");
        server.put("port", 0);
        server.putObject("timeouts").put("checkin_long_poll", "60s").put("checkin_jitter", "0s").put("drain", "5s");
        server.putObject("pdkdf2").put("iterations", 1000);
        root.putObject("management").put("host", "127.0.0.1").put("port", 0);
        FleetDaemon daemon = FleetDaemon.start(ConfigLoader.load(root, Map.of("data-dir", tmp.resolve(name).toString()), Map.of()));
        daemons.add(daemon);
        return daemon;
    }

    private static ObjectNode report(String policy, long revision) {
        ObjectNode body = AgentClient.checkinBody("online");
        body.put("agent_policy_id", policy);
        body.put("policy_revision_idx", revision);
        return body;
    }

    private static ObjectNode withStatus(ObjectNode body, String status) {
        body.put("status", status);
        return body;
    }

    private static String newPolicy(FleetDaemon fleet) throws Exception {
        String id = "policy-" + UUID.randomUUID();
        management(fleet, "POST", "/api/fleet/agent_policies", "{\"id\":\"" + id + "\",\"name\":\"" + id + "\"}");
        return id;
    }

    private static String enrollmentToken(FleetDaemon fleet, String policy) throws Exception {
        return management(fleet, "POST", "/api/fleet/enrollment_api_keys", "{\"policy_id\":\"" + policy + "\"}").at("/item/api_key").asText();
    }

    private static JsonNode management(FleetDaemon fleet, String method, String path, String body) {
        AgentClient.Reply r = E2eSupport.management(fleet, method, path, body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static JsonNode doc(ElasticsearchTestCluster cluster, String index, String id) throws Exception {
        return Json.MAPPER.readTree(cluster.request("GET", "/" + index + "/_doc/" + id, null)).get("_source");
    }

    private static void awaitParked(FleetDaemon fleet, String agentId) {
        E2eSupport.await(Duration.ofSeconds(15), "checkin of " + agentId + " parked",
                () -> fleet.core().checkin().registry().forAgent(agentId) != null);
    }
}
