package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The whole life of an agent against the real server, through a client that behaves like Elastic Agent. */
class AgentLifecycleTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();

    @Test
    void anAgentEnrollsGetsItsPolicyAcksAndIsWokenByANewRevision() throws Exception {
        fleet.start(server -> server.with("timeouts").put("checkin_long_poll", "30s"));

        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        assertThat(item.get("type").asText()).isEqualTo("PERMANENT");
        assertThat(OffsetDateTime.parse(item.get("enrolled_at").asText())).isNotNull();
        assertThat(new String(Base64.getDecoder().decode(key))).startsWith(item.get("access_api_key_id").asText() + ":");
        assertThat(item.at("/local_metadata/elastic/agent/id").asText()).isEqualTo(id);

        long start = System.nanoTime();
        AgentClient.Reply first = fleet.agent().checkin(id, key, AgentClient.checkinBody("starting"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(first.status()).isEqualTo(200);
        JsonNode action = first.json().at("/actions/0");
        assertThat(first.json().get("ack_token").asText()).isEmpty();
        assertThat(action.get("type").asText()).isEqualTo("POLICY_CHANGE");
        assertThat(action.get("id").asText()).isEqualTo("policy:default:1");
        assertThat(action.get("agent_id").asText()).isEqualTo(id);
        assertThat(action.get("input_type").asText()).isEmpty();
        assertThat(action.at("/data/policy/outputs/default/type").asText()).isEqualTo("elasticsearch");

        AgentClient.Reply ack = fleet.agent().acks(id, key, AgentClient.ackEvents(id, "policy:default:1"));
        assertThat(ack.status()).isEqualTo(200);
        assertThat(ack.json()).isEqualTo(Json.MAPPER.readTree("{\"action\":\"acks\",\"items\":[{\"status\":200,\"message\":\"OK\"}]}"));
        assertThat(agentDoc(id).get("policy_revision_idx").asLong()).isEqualTo(1);

        ObjectNode report = AgentClient.checkinBody("online");
        report.put("agent_policy_id", "default");
        report.put("policy_revision_idx", 1);
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(id, key, report);
        awaitParked(1);

        long updated = System.nanoTime();
        management("PUT", "/api/fleet/agent_policies/default", "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        AgentClient.Reply woken = parked.get(10, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - updated)).isLessThan(Duration.ofSeconds(1));
        assertThat(woken.json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");
        assertThat(woken.json().at("/actions/0/data/policy/agent/logging/level").asText()).isEqualTo("debug");
        assertThat(fleet.daemon().core().checkin().registry().size()).isZero();
    }

    @Test
    void aParkedCheckinWithNothingNewIsAnsweredEmptyWhenThePollEnds() throws Exception {
        fleet.start(server -> server.with("timeouts").put("checkin_long_poll", "1s"));
        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        fleet.agent().checkin(id, key, AgentClient.checkinBody("starting"));
        fleet.agent().acks(id, key, AgentClient.ackEvents(id, "policy:default:1"));

        ObjectNode report = AgentClient.checkinBody("online");
        report.put("agent_policy_id", "default");
        report.put("policy_revision_idx", 1);
        long start = System.nanoTime();
        AgentClient.Reply reply = fleet.agent().checkin(id, key, report);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(900), Duration.ofSeconds(10));
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json()).isEqualTo(Json.MAPPER.readTree("{\"ack_token\":\"\",\"action\":\"checkin\"}"));
        assertThat(fleet.daemon().core().checkin().registry().size()).isZero();
    }

    @Test
    void checkinStatusIsRecordedOnTheAgentDocument() throws Exception {
        fleet.start();
        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        String id = item.get("id").asText();
        ObjectNode body = AgentClient.checkinBody("DEGRADED");
        body.put("message", "one input is failing");
        body.set("components", Json.MAPPER.readTree("[{\"id\":\"c1\",\"type\":\"filestream\",\"status\":\"DEGRADED\","
                + "\"message\":\"x\",\"units\":[{\"id\":\"u1\",\"type\":\"input\",\"status\":\"FAILED\",\"message\":\"y\"}]}]"));
        fleet.agent().checkin(id, item.get("access_api_key").asText(), body);
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);

        JsonNode doc = agentDoc(id);
        assertThat(doc.get("last_checkin_status").asText()).isEqualTo("DEGRADED");
        assertThat(doc.get("last_checkin_message").asText()).isEqualTo("one input is failing");
        assertThat(OffsetDateTime.parse(doc.get("last_checkin").asText())).isNotNull();
        assertThat(doc.at("/local_metadata/host/hostname").asText()).isEqualTo("test-host");
        assertThat(doc.get("unhealthy_reason")).isEqualTo(Json.MAPPER.readTree("[\"input\"]"));
        assertThat(doc.at("/components/0/id").asText()).isEqualTo("c1");
    }

    @Test
    void aRestartKeepsAgentsKeysAndRevisions() throws Exception {
        fleet.start();
        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        fleet.agent().checkin(id, key, AgentClient.checkinBody("starting"));
        fleet.agent().acks(id, key, AgentClient.ackEvents(id, "policy:default:1"));
        management("PUT", "/api/fleet/agent_policies/default", "{\"agent\":{\"logging\":{\"level\":\"info\"}}}");
        String token = fleet.daemon().enrollmentToken();
        fleet.stop();

        fleet.start();
        assertThat(fleet.daemon().enrollmentToken()).isEqualTo(token);
        ObjectNode report = AgentClient.checkinBody("online");
        report.put("agent_policy_id", "default");
        report.put("policy_revision_idx", 1);
        AgentClient.Reply reply = fleet.agent().checkin(id, key, report);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");
        assertThat(agentDoc(id).get("policy_revision_idx").asLong()).isEqualTo(1);
        assertThat(fleet.agent().enroll(token, AgentClient.enrollBody()).status()).isEqualTo(200);
    }

    @Test
    void shutdownAnswersParkedCheckinsWithNothingNewAndAnEmptyAckToken() throws Exception {
        fleet.start(server -> server.with("timeouts").put("checkin_long_poll", "60s"));
        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        fleet.agent().checkin(id, key, AgentClient.checkinBody("starting"));
        ObjectNode report = AgentClient.checkinBody("online");
        report.put("agent_policy_id", "default");
        report.put("policy_revision_idx", 1);
        report.put("ack_token", "some-token");
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(id, key, report);
        awaitParked(1);

        fleet.stop();
        AgentClient.Reply reply = parked.get(10, TimeUnit.SECONDS);
        assertThat(reply.status()).isEqualTo(200);
        // As the original: the token names the last action delivered, and this answer delivers none.
        assertThat(reply.json()).isEqualTo(Json.MAPPER.readTree("{\"ack_token\":\"\",\"action\":\"checkin\"}"));
    }

    private JsonNode agentDoc(String id) throws Exception {
        return fleet.daemon().store().get(FleetIndex.AGENTS, id).get(5, TimeUnit.SECONDS).orElseThrow().source();
    }

    private void awaitParked(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (fleet.daemon().core().checkin().registry().size() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no parked checkin after 10 s");
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private JsonNode management(String method, String path, String body) {
        AgentClient.Reply r = E2eSupport.management(fleet.daemon(), method, path, body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }
}
