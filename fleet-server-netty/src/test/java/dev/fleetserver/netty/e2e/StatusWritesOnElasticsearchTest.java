package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static dev.fleetserver.netty.e2e.E2eSupport.managementOk;
import static dev.fleetserver.netty.e2e.E2eSupport.runningPolicy;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.netty.FleetDaemon;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the servers write about agents, on the real Elasticsearch with several servers on one cluster: a stale status
 * flush never rolls back a revision another server recorded, a new agent's status is written at once, and ids that
 * Elasticsearch would refuse are the client's 400, never Elasticsearch's text.
 */
class StatusWritesOnElasticsearchTest {
    @TempDir
    Path tmp;
    private final List<FleetDaemon> daemons = new ArrayList<>();
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();

    @AfterEach
    void stop() {
        daemons.forEach(FleetDaemon::stop);
    }

    private FleetDaemon start(String name) throws Exception {
        FleetDaemon d = TestFleet.startOnElasticsearch(tmp.resolve(name), cluster,
                server -> server.with("timeouts").put("checkin_long_poll", "60s"));
        daemons.add(d);
        return d;
    }

    private static String newPolicy(FleetDaemon fleet) {
        String id = "policy-" + UUID.randomUUID();
        managementOk(fleet, "POST", "/api/fleet/agent_policies", "{\"id\":\"" + id + "\",\"name\":\"" + id + "\"}");
        return id;
    }

    private static String enrollmentToken(FleetDaemon fleet, String policy) {
        return managementOk(fleet, "POST", "/api/fleet/enrollment_api_keys", "{\"policy_id\":\"" + policy + "\"}")
                .at("/item/api_key").asText();
    }

    private JsonNode agentDoc(String id) throws Exception {
        return Json.MAPPER.readTree(cluster.request("GET", "/.fleet-agents/_doc/" + id, null)).get("_source");
    }

    private static void awaitParked(FleetDaemon fleet, String agentId) {
        E2eSupport.await(Duration.ofSeconds(15), "checkin of " + agentId + " parked",
                () -> fleet.core().checkin().registry().forAgent(agentId) != null);
    }

    @Test
    void aStaleStatusFlushOfOneServerDoesNotRollBackTheRevisionAckedThroughTheOther() throws Exception {
        FleetDaemon a = start("a");
        FleetDaemon b = start("b");
        String policy = newPolicy(a);
        AgentClient viaA = new AgentClient(a.port());
        AgentClient viaB = new AgentClient(b.port());
        JsonNode item = viaA.enroll(enrollmentToken(a, policy));
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();

        // First checkin, not reporting a policy yet: it gets revision 1 (and its status is written at once).
        assertThat(viaA.checkin(id, key, AgentClient.checkinBody("starting")).json().at("/actions/0/id").asText())
                .isEqualTo("policy:" + policy + ":1");
        assertThat(agentDoc(id).get("last_checkin_status").asText()).isEqualTo("starting");
        // Running revision 1, parked on A: A holds "revision 1" for its next flush.
        CompletableFuture<AgentClient.Reply> parked = viaA.checkinAsync(id, key, runningPolicy(policy, 1));
        awaitParked(a, id);

        managementOk(b, "PUT", "/api/fleet/agent_policies/" + policy, "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        assertThat(parked.get(30, TimeUnit.SECONDS).json().at("/actions/0/id").asText()).isEqualTo("policy:" + policy + ":2");
        assertThat(viaB.acks(id, key, AgentClient.ackEvents(id, "policy:" + policy + ":2")).status()).isEqualTo(200);
        assertThat(agentDoc(id).get("policy_revision_idx").asLong()).isEqualTo(2);

        a.core().checkin().flushPending().get(30, TimeUnit.SECONDS);

        JsonNode doc = agentDoc(id);
        assertThat(doc.get("policy_revision_idx").asLong()).isEqualTo(2);
        assertThat(doc.get("agent_policy_id").asText()).isEqualTo(policy);
        assertThat(doc.get("last_checkin_status").asText()).as("the rest of A's report is written").isEqualTo("online");
    }

    @Test
    void aNewAgentIsOnlineRightAfterItsFirstCheckin() throws Exception {
        FleetDaemon a = start("first");
        String policy = newPolicy(a);
        AgentClient agent = new AgentClient(a.port());
        JsonNode item = agent.enroll(enrollmentToken(a, policy));
        String id = item.get("id").asText();

        CompletableFuture<AgentClient.Reply> parked = agent.checkinAsync(id, item.get("access_api_key").asText(),
                runningPolicy(policy, 1));
        awaitParked(a, id);

        assertThat(managementOk(a, "GET", "/api/fleet/agents/" + id, null).at("/item/status").asText()).isEqualTo("online");
        assertThat(parked).isNotDone();
    }

    @Test
    void idsElasticsearchWouldRefuseAreBadRequestsWithoutItsText() throws Exception {
        FleetDaemon a = start("ids");
        String token = enrollmentToken(a, newPolicy(a));
        AgentClient agent = new AgentClient(a.port());
        ObjectNode body = AgentClient.enrollBody();
        body.put("id", "a".repeat(600));
        assertError(agent.enroll(token, body), 400, "BadRequest", "Bad request: id must be at most 512 bytes");

        JsonNode item = agent.enroll(token);
        String key = item.get("access_api_key").asText();
        String tooLong = "b".repeat(600);
        assertError(agent.checkin(tooLong, key, AgentClient.checkinBody("online")), 400, "BadRequest",
                "Bad request: agent id in the path must be at most 512 bytes");
        assertError(agent.acks(tooLong, key, AgentClient.ackEvents(tooLong, "x")), 400, "BadRequest",
                "Bad request: agent id in the path must be at most 512 bytes");
    }
}
