package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.agentDoc;
import static dev.fleetserver.netty.e2e.E2eSupport.assertErrorKind;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import java.net.http.HttpRequest;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code POST /api/fleet/agents/{id}/acks}: per-event statuses, the HTTP status, policy revisions and action results. */
class AckProtocolTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();
    Enrolled a;

    @BeforeEach
    void enroll() {
        a = fleet.enroll();
    }

    private AgentClient.Reply ack(String json) throws Exception {
        return fleet.agent().acks(a.id(), a.key(), (ObjectNode) Json.MAPPER.readTree(json));
    }

    @Test
    void nullEventsAreAnsweredWithAnEmptyAcks() throws Exception {
        AgentClient.Reply r = ack("{\"events\":null}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"action\":\"acks\"}"));
    }

    @Test
    void anUnknownActionIsA404ItemAndA404Answer() throws Exception {
        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "no-such-action"));
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree(
                "{\"action\":\"acks\",\"errors\":true,\"items\":[{\"status\":404,\"message\":\"Not Found\"}]}"));
    }

    @Test
    void aMixedBatchAnswersWithTheHighestItemStatus() throws Exception {
        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(),
                AgentClient.ackEvents(a.id(), "policy:default:1", "no-such-action"));
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"action\":\"acks\",\"errors\":true,\"items\":["
                + "{\"status\":200,\"message\":\"OK\"},{\"status\":404,\"message\":\"Not Found\"}]}"));
    }

    @Test
    void anEventOfAnotherAgentIsA400Item() throws Exception {
        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents("someone-else", "policy:default:1"));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("errors").asBoolean()).isTrue();
        assertThat(r.json().at("/items/0/status").asInt()).isEqualTo(400);
        assertThat(agentDoc(fleet.daemon(), a.id()).path("policy_revision_idx").asLong(0)).isZero();
    }

    @Test
    void repeatedPolicyAcksAreHarmlessAndTheRevisionNeverMovesBack() {
        E2eSupport.managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");

        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:2")).status())
                .isEqualTo(200);
        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:2")).status())
                .isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), a.id()).get("policy_revision_idx").asLong()).isEqualTo(2);

        AgentClient.Reply older = fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:1"));
        assertThat(older.status()).isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), a.id()).get("policy_revision_idx").asLong()).isEqualTo(2);
    }

    @Test
    void anActionAddressedOnlyToAnotherAgentIsA403ItemWritesNothingAndIsNotCounted() throws Exception {
        Enrolled b = fleet.enroll();
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agents/" + b.id() + "/unenroll", "{}");
        JsonNode status = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/action_status", null).at("/items/0");
        String actionId = status.get("actionId").asText();

        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), actionId));

        assertThat(r.status()).isEqualTo(403);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree(
                "{\"action\":\"acks\",\"errors\":true,\"items\":[{\"status\":403,\"message\":\"Forbidden\"}]}"));
        assertThat(E2eSupport.doc(fleet.daemon(), FleetIndex.ACTION_RESULTS, actionId + ":" + a.id())).isEmpty();
        JsonNode after = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/action_status", null).at("/items/0");
        assertThat(after.get("nbAgentsAck").asInt()).isZero();
        assertThat(after.get("status").asText()).isEqualTo("IN_PROGRESS");
        // Neither agent was unenrolled by it.
        assertThat(agentDoc(fleet.daemon(), a.id()).get("active").asBoolean()).isTrue();
        assertThat(agentDoc(fleet.daemon(), b.id()).get("active").asBoolean()).isTrue();

        // The agent it was sent to acks it as usual.
        assertThat(fleet.agent().acks(b.id(), b.key(), AgentClient.ackEvents(b.id(), actionId)).status()).isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), b.id()).get("active").asBoolean()).isFalse();
    }

    @Test
    void anActionSplitOverSeveralDocumentsIsAckedByAnAgentOfAnyOfThem() {
        ObjectNode first = E2eSupport.settingsAction("split-1", "agent-x");
        ObjectNode second = E2eSupport.settingsAction("split-1", "agent-y");
        ((com.fasterxml.jackson.databind.node.ArrayNode) second.get("agents")).add(a.id());
        E2eSupport.indexAction(fleet.daemon(), "split-doc-1", first);
        E2eSupport.indexAction(fleet.daemon(), "split-doc-2", second);

        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "split-1")).status()).isEqualTo(200);
        assertThat(E2eSupport.doc(fleet.daemon(), FleetIndex.ACTION_RESULTS, "split-1:" + a.id())).isPresent();
    }

    @Test
    void eventIdsThatCannotBeDocumentIdsAreBadRequestItemsNamingTheField() throws Exception {
        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(),
                AgentClient.ackEvents(a.id(), "x".repeat(600), "policy:default:1"));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"action\":\"acks\",\"errors\":true,\"items\":["
                + "{\"status\":400,\"message\":\"Bad request: action_id must be at most 512 bytes\"},"
                + "{\"status\":200,\"message\":\"OK\"}]}"));
    }

    @Test
    void ackingAStoredActionWritesItsResult() throws Exception {
        E2eSupport.indexAction(fleet.daemon(), "doc-1", E2eSupport.settingsAction("action-1", a.id()));
        E2eSupport.indexAction(fleet.daemon(), "doc-2", E2eSupport.settingsAction("action-2", a.id()));

        ObjectNode body = AgentClient.ackEvents(a.id(), "action-1", "action-2");
        ((ObjectNode) body.get("events").get(1)).put("error", "could not change the log level");
        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(), body);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree(
                "{\"action\":\"acks\",\"items\":[{\"status\":200,\"message\":\"OK\"},{\"status\":200,\"message\":\"OK\"}]}"));

        JsonNode ok = E2eSupport.doc(fleet.daemon(), FleetIndex.ACTION_RESULTS, "action-1:" + a.id()).orElseThrow();
        assertThat(ok.get("action_id").asText()).isEqualTo("action-1");
        assertThat(ok.get("agent_id").asText()).isEqualTo(a.id());
        assertThat(OffsetDateTime.parse(ok.get("@timestamp").asText())).isNotNull();
        assertThat(ok.has("error")).isFalse();

        JsonNode failed = E2eSupport.doc(fleet.daemon(), FleetIndex.ACTION_RESULTS, "action-2:" + a.id()).orElseThrow();
        assertThat(failed.get("error").asText()).isEqualTo("could not change the log level");

        // Acking again is still a success.
        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "action-1")).status()).isEqualTo(200);
    }

    @Test
    void invalidJsonIsABadRequest() {
        AgentClient.Reply r = fleet.agent().send(fleet.agent().request("/api/fleet/agents/" + a.id() + "/acks")
                .header("Authorization", "ApiKey " + a.key())
                .POST(HttpRequest.BodyPublishers.ofString("{\"events\":[")).build());
        assertThat(assertErrorKind(r, 400, "BadRequest")).startsWith("Bad request: ");
    }

    @Test
    void acksNeedTheAgentsOwnKey() {
        Enrolled other = fleet.enroll();
        AgentClient.Reply r = fleet.agent().acks(a.id(), other.key(), AgentClient.ackEvents(a.id(), "policy:default:1"));
        assertThat(assertErrorKind(r, 403, "ErrAgentIdentity")).isEqualTo("Agent header contains wrong identifier");
    }

    @Test
    void aFailedPolicyAckOrOneForAnotherPolicyDoesNotMoveTheRevision() {
        ObjectNode failed = AgentClient.ackEvents(a.id(), "policy:default:1");
        ((ObjectNode) failed.get("events").get(0)).put("error", "could not apply");
        assertThat(fleet.agent().acks(a.id(), a.key(), failed).status()).isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), a.id()).path("policy_revision_idx").asLong(0)).isZero();

        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:other:5")).status()).isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), a.id()).path("policy_revision_idx").asLong(0)).isZero();
    }

    @Test
    void resultFieldsOfDiagnosticsAndInputActionsAreKept() throws Exception {
        E2eSupport.indexAction(fleet.daemon(), "diag-doc", E2eSupport.action("diag-1", "REQUEST_DIAGNOSTICS", a.id(),
                Instant.now().plusSeconds(3600), null));
        E2eSupport.indexAction(fleet.daemon(), "input-doc", E2eSupport.action("input-1", "INPUT_ACTION", a.id(),
                Instant.now().plusSeconds(3600), Json.object().put("command", "isolate")));
        ObjectNode body = AgentClient.ackEvents(a.id(), "diag-1", "input-1");
        ((ObjectNode) body.get("events").get(0)).putObject("data").put("upload_id", "up-1");
        ObjectNode input = (ObjectNode) body.get("events").get(1);
        input.put("action_input_type", "endpoint");
        input.set("action_data", Json.object().put("command", "isolate"));
        input.set("action_response", Json.object().put("endpoint", Json.object().put("ack", true).toString()));
        input.put("started_at", "2026-01-01T00:00:00Z");
        input.put("completed_at", "2026-01-01T00:00:01Z");
        assertThat(fleet.agent().acks(a.id(), a.key(), body).status()).isEqualTo(200);

        JsonNode diag = E2eSupport.doc(fleet.daemon(), FleetIndex.ACTION_RESULTS, "diag-1:" + a.id()).orElseThrow();
        assertThat(diag.at("/data/upload_id").asText()).isEqualTo("up-1");
        JsonNode in = E2eSupport.doc(fleet.daemon(), FleetIndex.ACTION_RESULTS, "input-1:" + a.id()).orElseThrow();
        assertThat(in.get("action_input_type").asText()).isEqualTo("endpoint");
        assertThat(in.at("/action_data/command").asText()).isEqualTo("isolate");
        assertThat(in.has("action_response")).isTrue();
        assertThat(in.get("started_at").asText()).isEqualTo("2026-01-01T00:00:00Z");
        assertThat(in.get("completed_at").asText()).isEqualTo("2026-01-01T00:00:01Z");
    }

    @Test
    void acksOfAnInactiveAgentAreRefused() {
        E2eSupport.updateAgent(fleet.daemon(), a.id(), Json.object().put("active", false));
        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:1"));
        assertThat(r.status()).isEqualTo(401);
    }

    @Test
    void ackingAnUnenrollActionUnenrollsTheAgent() throws Exception {
        E2eSupport.indexAction(fleet.daemon(), "unenroll-doc", E2eSupport.action("unenroll-1", "UNENROLL", a.id(),
                Instant.now().plusSeconds(3600), null));
        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "unenroll-1")).status()).isEqualTo(200);

        JsonNode doc = agentDoc(fleet.daemon(), a.id());
        assertThat(doc.get("active").asBoolean()).isFalse();
        assertThat(OffsetDateTime.parse(doc.get("unenrolled_at").asText())).isNotNull();
        assertThat(fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("online")).status()).isEqualTo(401);
    }

    @Test
    void aFailedUnenrollAckLeavesTheAgentEnrolled() {
        E2eSupport.indexAction(fleet.daemon(), "unenroll-doc", E2eSupport.action("unenroll-1", "UNENROLL", a.id(),
                Instant.now().plusSeconds(3600), null));
        ObjectNode body = AgentClient.ackEvents(a.id(), "unenroll-1");
        ((ObjectNode) body.get("events").get(0)).put("error", "refused");
        assertThat(fleet.agent().acks(a.id(), a.key(), body).status()).isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), a.id()).get("active").asBoolean()).isTrue();
        assertThat(fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("online")).status()).isEqualTo(200);
    }

    @Test
    void ackingAnUpgradeMarksTheAgentUpgraded() {
        E2eSupport.updateAgent(fleet.daemon(), a.id(), Json.object().put("upgrade_started_at", "2026-01-01T00:00:00Z"));
        E2eSupport.indexAction(fleet.daemon(), "upgrade-doc", E2eSupport.action("upgrade-1", "UPGRADE", a.id(),
                Instant.now().plusSeconds(3600), Json.object().put("version", "9.6.1")));
        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "upgrade-1")).status()).isEqualTo(200);

        JsonNode doc = agentDoc(fleet.daemon(), a.id());
        assertThat(doc.get("upgrade_started_at").isNull()).isTrue();
        assertThat(OffsetDateTime.parse(doc.get("upgraded_at").asText())).isNotNull();
    }
}
