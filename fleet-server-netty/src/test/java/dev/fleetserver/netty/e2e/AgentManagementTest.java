package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Running a fleet through the management API: each action reaches the agent, is acked, and its effect shows. */
class AgentManagementTest {
    // Not final: the Elasticsearch subclass runs the same tests on that back end.
    @RegisterExtension
    final TestFleetExtension fleet = newFleet().server(longPoll("30s")).cleanUp(this::afterStop);

    /**
     * The server under test, before its settings: on the embedded store here, on Elasticsearch in a subclass. Called
     * while the test instance is made, before a subclass's own fields are set.
     */
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.embedded();
    }

    private static Consumer<ObjectNode> longPoll(String longPoll) {
        return server -> server.with("timeouts").put("checkin_long_poll", longPoll);
    }

    /** Runs after each test's server stopped. */
    protected void afterStop() throws Exception {
    }

    @Test
    void unenrollReachesTheParkedAgentAndItsAckEndsTheAgent() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = park(a);

        ok("POST", "/api/fleet/agents/" + a.id() + "/unenroll", "");
        JsonNode delivered = parked.get(10, TimeUnit.SECONDS).json();
        assertThat(delivered.at("/actions/0/type").asText()).isEqualTo("UNENROLL");
        assertThat(delivered.at("/actions/0/data").isNull()).isTrue();
        assertThat(ok("GET", "/api/fleet/agents/" + a.id(), null).at("/item/status").asText()).isEqualTo("unenrolling");

        String actionId = delivered.at("/actions/0/id").asText();
        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), actionId)).status()).isEqualTo(200);
        assertThat(ok("GET", "/api/fleet/agents/" + a.id(), null).at("/item/status").asText()).isEqualTo("unenrolled");
        assertThat(fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).status()).isEqualTo(401);
    }

    @Test
    void theSummaryAPolicysRevisionsAndRolloutAndAnAgentsActionsFollowTheFleet() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        ok("PUT", "/api/fleet/agent_policies/default", "{\"description\":\"second revision\"}");

        JsonNode rollout = ok("GET", "/api/fleet/agent_policies/default/rollout", null);
        assertThat(rollout.get("revision").asInt()).isEqualTo(2);
        assertThat(rollout.get("agents").asInt()).isEqualTo(1);
        assertThat(rollout.get("acked").asInt()).isZero();
        assertThat(rollout.at("/by_revision/1").asInt()).isEqualTo(1);
        JsonNode summary = ok("GET", "/api/fleet/agents/summary", null);
        assertThat(summary.at("/by_policy/0/policy_id").asText()).isEqualTo("default");
        assertThat(summary.at("/by_policy/0/outdated").asInt()).isEqualTo(1);
        assertThat(summary.at("/by_version/0/version").asText()).isEqualTo("9.6.0");

        JsonNode revisions = ok("GET", "/api/fleet/agent_policies/default/revisions", null);
        assertThat(revisions.at("/items/0/revision").asInt()).isEqualTo(2);
        assertThat(revisions.at("/items/1/revision").asInt()).isEqualTo(1);
        assertThat(ok("GET", "/api/fleet/agent_policies/default/revisions/1", null).at("/item/description").isMissingNode()).isTrue();
        ok("GET", "/api/fleet/agent_policies/default/revisions/9", null, 404);

        JsonNode change = fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).json();
        assertThat(change.at("/actions/0/id").asText()).isEqualTo("policy:default:2");
        fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:2"));
        E2eSupport.await("the rollout at 100 %", () ->
                ok("GET", "/api/fleet/agent_policies/default/rollout", null).get("acked").asInt() == 1);

        String actionId = ok("POST", "/api/fleet/agents/" + a.id() + "/request_diagnostics", "{}").get("actionId").asText();
        JsonNode actions = ok("GET", "/api/fleet/agents/" + a.id() + "/actions", null);
        assertThat(actions.at("/items/0/actionId").asText()).isEqualTo(actionId);
        assertThat(actions.at("/items/0/status").asText()).isEqualTo("PENDING");
        JsonNode results = ok("GET", "/api/fleet/actions/" + actionId + "/results", null);
        assertThat(results.get("pending").asInt()).isEqualTo(1);
        assertThat(results.at("/items/0/agent_id").asText()).isEqualTo(a.id());
        ok("GET", "/api/fleet/actions/no-such-action/results", null, 404);
    }

    @Test
    void aRevokingUnenrollRefusesTheAgentAtOnce() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        ok("POST", "/api/fleet/agents/" + a.id() + "/unenroll", "{\"revoke\":true}");
        assertThat(fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).status()).isEqualTo(401);
        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:1")).status())
                .isEqualTo(401);
    }

    @Test
    void anUpgradeForAnAgentThatWasAwayArrivesOnItsNextCheckinAndItsAckMarksTheAgentUpgraded() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        ok("POST", "/api/fleet/agents/" + a.id() + "/upgrade", "{\"version\":\"9.6.1\",\"source_uri\":\"https://artifacts.example/\"}");

        JsonNode delivered = fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).json();
        assertThat(delivered.at("/actions/0/type").asText()).isEqualTo("UPGRADE");
        assertThat(delivered.at("/actions/0/data")).isEqualTo(Json.MAPPER.readTree(
                "{\"version\":\"9.6.1\",\"source_uri\":\"https://artifacts.example/\"}"));
        assertThat(fleet.agent().acks(a.id(), a.key(),
                AgentClient.ackEvents(a.id(), delivered.at("/actions/0/id").asText())).status())
                .isEqualTo(200);
        JsonNode item = ok("GET", "/api/fleet/agents/" + a.id(), null).get("item");
        assertThat(item.hasNonNull("upgraded_at")).isTrue();
        assertThat(item.get("upgrade_started_at").isNull()).isTrue();
    }

    @Test
    void aReassignedAgentIsToldAndThenGetsItsNewPolicy() throws Exception {
        ok("POST", "/api/fleet/agent_policies", "{\"id\":\"second\",\"name\":\"Second\"}");
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = park(a);

        ok("POST", "/api/fleet/agents/" + a.id() + "/reassign", "{\"policy_id\":\"second\"}");
        JsonNode delivered = parked.get(10, TimeUnit.SECONDS).json();
        assertThat(delivered.at("/actions/0/type").asText()).isEqualTo("POLICY_REASSIGN");
        assertThat(delivered.at("/actions/0/data/policy_id").asText()).isEqualTo("second");
        fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), delivered.at("/actions/0/id").asText()));

        var next = E2eSupport.runningPolicy("default", 1);
        next.put("ack_token", delivered.get("ack_token").asText());
        assertThat(fleet.agent().checkin(a.id(), a.key(), next).json().at("/actions/0/id").asText()).isEqualTo("policy:second:1");
        assertThat(ok("GET", "/api/fleet/agents/" + a.id(), null).at("/item/policy_id").asText()).isEqualTo("second");
        assertThat(ok("POST", "/api/fleet/agents/" + a.id() + "/reassign", "{\"policy_id\":\"nope\"}", 404)).isNotNull();
    }

    @Test
    void settingsAndDiagnosticsActionsAreDeliveredAckedAndCounted() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = park(a);
        ok("POST", "/api/fleet/agents/" + a.id() + "/actions", "{\"action\":{\"type\":\"SETTINGS\",\"data\":{\"log_level\":\"debug\"}}}");
        JsonNode settings = parked.get(10, TimeUnit.SECONDS).json();
        assertThat(settings.at("/actions/0/data/log_level").asText()).isEqualTo("debug");
        fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), settings.at("/actions/0/id").asText()));

        ok("POST", "/api/fleet/agents/" + a.id() + "/request_diagnostics", "{\"additional_metrics\":[\"CPU\"]}");
        var next = E2eSupport.runningPolicy("default", 1);
        next.put("ack_token", settings.get("ack_token").asText());
        JsonNode diag = fleet.agent().checkin(a.id(), a.key(), next).json();
        assertThat(diag.at("/actions/0/type").asText()).isEqualTo("REQUEST_DIAGNOSTICS");
        var ack = AgentClient.ackEvents(a.id(), diag.at("/actions/0/id").asText());
        ((com.fasterxml.jackson.databind.node.ObjectNode) ack.get("events").get(0)).putObject("data").put("upload_id", "up-1");
        fleet.agent().acks(a.id(), a.key(), ack);
        JsonNode result = fleet.daemon().store().get(FleetIndex.ACTION_RESULTS, diag.at("/actions/0/id").asText() + ":" + a.id())
                .get(5, TimeUnit.SECONDS).orElseThrow().source();
        assertThat(result.at("/data/upload_id").asText()).isEqualTo("up-1");

        JsonNode status = ok("GET", "/api/fleet/agents/action_status", null).get("items");
        assertThat(status).hasSize(2);
        for (JsonNode s : status) {
            assertThat(s.get("nbAgentsActionCreated").asInt()).isEqualTo(1);
            assertThat(s.get("nbAgentsAck").asInt()).isEqualTo(1);
            assertThat(s.get("status").asText()).isEqualTo("COMPLETE");
        }
        assertThat(ok("POST", "/api/fleet/agents/" + a.id() + "/actions", "{\"action\":{\"type\":\"FORCE_UNENROLL\"}}", 400)).isNotNull();
    }

    @Test
    void aBulkUpgradeOfThreeAgentsWithARolloutWindowGivesThreeStartTimes() throws Exception {
        List<E2eSupport.Enrolled> agents = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            agents.add(fleet.enrollUpToDate());
        }
        var ids = Json.array();
        agents.forEach(a -> ids.add(a.id()));
        ok("POST", "/api/fleet/agents/bulk_upgrade", "{\"agents\":" + ids + ",\"version\":\"9.6.1\","
                + "\"start_time\":\"2030-01-01T00:00:00Z\",\"rollout_duration_seconds\":600}");
        List<String> starts = new ArrayList<>();
        for (E2eSupport.Enrolled a : agents) {
            starts.add(fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).json()
                    .at("/actions/0/start_time").asText());
        }
        assertThat(starts).containsExactly("2030-01-01T00:00:00Z", "2030-01-01T00:03:20Z", "2030-01-01T00:06:40Z");
    }

    @Test
    void agentsAreListedByKueryCountedByStatusAndTagged() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        E2eSupport.Enrolled b = fleet.enrollUpToDate();
        ok("PUT", "/api/fleet/agents/" + a.id(), "{\"tags\":[\"prod\",\"eu\",\"prod\"]}");
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);

        assertThat(ok("GET", "/api/fleet/agents/" + a.id(), null).at("/item/tags")).isEqualTo(Json.MAPPER.readTree("[\"eu\",\"prod\"]"));
        JsonNode tagged = ok("GET", "/api/fleet/agents?kuery=" + java.net.URLEncoder.encode("tags:prod and status:online",
                java.nio.charset.StandardCharsets.UTF_8), null);
        assertThat(tagged.get("total").asInt()).isEqualTo(1);
        assertThat(tagged.at("/items/0/id").asText()).isEqualTo(a.id());
        assertThat(ok("GET", "/api/fleet/agents?kuery=policy_id:default", null).get("total").asInt()).isEqualTo(2);
        JsonNode second = ok("GET", "/api/fleet/agents?page=2&perPage=1", null);
        assertThat(second.get("total").asInt()).isEqualTo(2);
        assertThat(second.at("/items/0/id").asText()).as("the older of the two").isEqualTo(a.id());
        assertThat(ok("GET", "/api/fleet/agents?kuery=" + java.net.URLEncoder.encode("tags:(a or b)",
                java.nio.charset.StandardCharsets.UTF_8), null, 400)).isNotNull();

        ok("POST", "/api/fleet/agents/" + b.id() + "/unenroll", "{\"revoke\":true}");
        JsonNode counts = ok("GET", "/api/fleet/agent_status?policyId=default", null).get("results");
        assertThat(counts.get("online").asInt()).isEqualTo(1);
        assertThat(counts.get("unenrolled").asInt()).isEqualTo(1);
        assertThat(counts.get("total").asInt()).isEqualTo(1);
    }

    @Test
    void aRevokedEnrollmentKeyCanNoLongerEnroll() throws Exception {
        JsonNode key = ok("POST", "/api/fleet/enrollment_api_keys", "{\"policy_id\":\"default\"}").get("item");
        assertThat(fleet.agent().enroll(key.get("api_key").asText(), AgentClient.enrollBody()).status()).isEqualTo(200);
        assertThat(ok("GET", "/api/fleet/enrollment_api_keys", null).get("total").asInt()).isEqualTo(2);

        ok("DELETE", "/api/fleet/enrollment_api_keys/" + key.get("id").asText(), null);
        assertThat(fleet.agent().enroll(key.get("api_key").asText(), AgentClient.enrollBody()).status()).isEqualTo(401);
        assertThat(ok("DELETE", "/api/fleet/enrollment_api_keys/unknown", null, 404)).isNotNull();
    }

    @Test
    void anAgentNeverReceivesAnActionTwiceAcrossAServerRestart() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        ok("POST", "/api/fleet/agents/" + a.id() + "/actions", "{\"action\":{\"type\":\"SETTINGS\",\"data\":{\"log_level\":\"info\"}}}");
        JsonNode delivered = fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).json();
        String token = delivered.get("ack_token").asText();
        assertThat(token).isNotEmpty();

        fleet.restart(longPoll("1s"));
        var next = E2eSupport.runningPolicy("default", 1);
        next.put("ack_token", token);
        JsonNode after = fleet.agent().checkin(a.id(), a.key(), next).json();
        assertThat(after.has("actions")).isFalse();
    }

    @Test
    void aPolicyIsDeletedOnlyWhenNoAgentUsesItAndItsKeysStopWorking() throws Exception {
        ok("POST", "/api/fleet/agent_policies", "{\"id\":\"temp\",\"name\":\"Temporary\"}");
        ok("PUT", "/api/fleet/agent_policies/temp", "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        String token = ok("POST", "/api/fleet/enrollment_api_keys", "{\"policy_id\":\"temp\"}").at("/item/api_key").asText();
        assertThat(ok("GET", "/api/fleet/agent_policies", null).get("total").asInt()).isEqualTo(2);

        JsonNode item = fleet.agent().enroll(token);
        JsonNode refused = ok("POST", "/api/fleet/agent_policies/delete", "{\"agentPolicyId\":\"temp\"}", 400);
        assertThat(refused.get("message").asText()).contains("assigned");
        ok("POST", "/api/fleet/agents/" + item.get("id").asText() + "/reassign", "{\"policy_id\":\"default\"}");

        ok("POST", "/api/fleet/agent_policies/delete", "{\"agentPolicyId\":\"temp\"}");
        ok("GET", "/api/fleet/agent_policies/temp", null, 404);
        assertThat(ok("GET", "/api/fleet/agent_policies", null).get("total").asInt()).isEqualTo(1);
        assertThat(fleet.agent().enroll(token, AgentClient.enrollBody()).status()).isEqualTo(401);
        ok("POST", "/api/fleet/agent_policies/delete", "{\"agentPolicyId\":\"temp\"}", 404);
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} reaches a parked agent and one that was away, and is acked")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"UNENROLL", "UPGRADE", "SETTINGS", "POLICY_REASSIGN",
        "REQUEST_DIAGNOSTICS", "INPUT_ACTION", "CANCEL", "MIGRATE", "PRIVILEGE_LEVEL_CHANGE"})
    void everyActionTypeIsDeliveredBothWaysAndAcked(String type) throws Exception {
        String data = switch (type) {
            case "UPGRADE" -> "{\"version\":\"9.6.1\"}";
            case "SETTINGS" -> "{\"log_level\":\"debug\"}";
            case "POLICY_REASSIGN" -> "{\"policy_id\":\"default\"}";
            case "INPUT_ACTION" -> "{\"query\":\"select 1\"}";
            case "CANCEL" -> "{\"target_id\":\"x\"}";
            case "MIGRATE" -> "{\"enrollment_token\":\"t\",\"target_uri\":\"https://other:8220\"}";
            case "PRIVILEGE_LEVEL_CHANGE" -> "{\"unprivileged\":true}";
            default -> "null";
        };
        E2eSupport.Enrolled parkedAgent = fleet.enrollUpToDate();
        E2eSupport.Enrolled awayAgent = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = park(parkedAgent);
        for (E2eSupport.Enrolled a : List.of(parkedAgent, awayAgent)) {
            ok("POST", "/api/fleet/agents/" + a.id() + "/actions", "{\"action\":{\"type\":\"" + type + "\",\"data\":" + data + "}}");
        }
        JsonNode live = parked.get(10, TimeUnit.SECONDS).json();
        JsonNode later = fleet.agent().checkin(awayAgent.id(), awayAgent.key(), E2eSupport.runningPolicy("default", 1)).json();
        for (JsonNode got : List.of(live, later)) {
            assertThat(got.at("/actions/0/type").asText()).isEqualTo(type);
            assertThat(got.get("ack_token").asText()).isNotEmpty();
        }
        E2eSupport.Enrolled[] both = {parkedAgent, awayAgent};
        JsonNode[] received = {live, later};
        for (int i = 0; i < 2; i++) {
            var ack = AgentClient.ackEvents(both[i].id(), received[i].at("/actions/0/id").asText());
            assertThat(fleet.agent().acks(both[i].id(), both[i].key(), ack).status()).isEqualTo(200);
        }
        for (JsonNode s : ok("GET", "/api/fleet/agents/action_status", null).get("items")) {
            assertThat(s.get("nbAgentsAck").asInt()).isEqualTo(1);
        }
    }

    @Test
    void secretsReferencedByAnActionAreResolvedOnBothDeliveryPaths() throws Exception {
        storeSecret("sec-1", "hunter2");
        E2eSupport.Enrolled parkedAgent = fleet.enrollUpToDate();
        E2eSupport.Enrolled awayAgent = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = park(parkedAgent);
        ObjectNode action = E2eSupport.action("with-secret", "INPUT_ACTION", parkedAgent.id(),
                java.time.Instant.now().plusSeconds(3600), Json.object().put("password", "$co.elastic.secret{sec-1}"));
        action.putArray("agents").add(parkedAgent.id()).add(awayAgent.id());
        action.putArray("secret_references").addObject().put("id", "sec-1");
        fleet.daemon().store().create(FleetIndex.ACTIONS, "secret-doc", action).get(5, TimeUnit.SECONDS);

        JsonNode live = parked.get(10, TimeUnit.SECONDS).json();
        JsonNode later = fleet.agent().checkin(awayAgent.id(), awayAgent.key(), E2eSupport.runningPolicy("default", 1)).json();
        for (JsonNode got : List.of(live, later)) {
            assertThat(got.at("/actions/0/data/password").asText()).isEqualTo("hunter2");
            assertThat(got.toString()).doesNotContain("secret_references");
        }
    }

    /** Kibana stores secret values in {@code .fleet-secrets}. */
    protected void storeSecret(String id, String value) throws Exception {
        fleet.daemon().store().create(FleetIndex.SECRETS, id, Json.object().put("value", value)).get(5, TimeUnit.SECONDS);
    }

    private CompletableFuture<AgentClient.Reply> park(E2eSupport.Enrolled a) {
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(),
                E2eSupport.runningPolicy("default", 1));
        E2eSupport.await("checkin of " + a.id() + " parked",
                () -> fleet.daemon().core().checkin().registry().forAgent(a.id()) != null);
        return parked;
    }

    private JsonNode ok(String method, String path, String body) {
        return ok(method, path, body, 200);
    }

    private JsonNode ok(String method, String path, String body, int status) {
        AgentClient.Reply r = E2eSupport.management(fleet.daemon(), method, path, body == null ? "" : body);
        assertThat(r.status()).as(method + " " + path + ": " + r.body()).isEqualTo(status);
        return r.json();
    }
}
