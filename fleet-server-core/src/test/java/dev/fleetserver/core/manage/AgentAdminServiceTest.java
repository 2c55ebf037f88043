package dev.fleetserver.core.manage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.agent.AgentKeyRevoker;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.embedded.EmbeddedApiKeys;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.MutableClock;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentAdminServiceTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2024-05-01T12:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dataDir;

    private SqliteDocumentStore store;
    private AgentAdminService admin;

    @BeforeEach
    void open() {
        store = SqliteDocumentStore.open(dataDir);
        FleetRepository repo = new FleetRepository(store);
        admin = new AgentAdminService(repo, new AgentKeyRevoker(repo, new EmbeddedApiKeys(store, CLOCK), null, CLOCK), CLOCK);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void aBulkActionByKueryReachesEveryMatchingAgentEvenBeyondOneSearchWindow() throws Exception {
        int matching = 10_000 + 7;
        List<WriteOp> agents = new ArrayList<>();
        for (int i = 0; i < matching; i++) {
            agents.add(new WriteOp.Create(FleetIndex.AGENTS, "a" + i, agent("p1", true)));
        }
        agents.add(new WriteOp.Create(FleetIndex.AGENTS, "other-policy", agent("p2", true)));
        agents.add(new WriteOp.Create(FleetIndex.AGENTS, "inactive", agent("p1", false)));
        store.bulk(agents).get(60, TimeUnit.SECONDS);

        ObjectNode answer = admin.bulkUpgrade(Json.MAPPER.readTree("{\"agents\":\"policy_id:p1\",\"version\":\"9.6.0\"}"))
                .get(60, TimeUnit.SECONDS);

        String actionId = answer.get("actionId").asText();
        List<Doc> docs = store.search(FleetIndex.ACTIONS, Query.where().term("action_id", actionId).size(100))
                .get(10, TimeUnit.SECONDS);
        Set<String> targeted = new HashSet<>();
        int listed = 0;
        for (Doc d : docs) {
            for (JsonNode id : d.source().get("agents")) {
                targeted.add(id.asText());
                listed++;
            }
        }
        assertThat(listed).as("each agent once").isEqualTo(matching);
        assertThat(targeted).hasSize(matching).contains("a0", "a" + (matching - 1)).doesNotContain("other-policy", "inactive");

        // Every agent answers: the action's results and status count all of them, past one search window too.
        List<WriteOp> results = new ArrayList<>();
        for (String agentId : targeted) {
            results.add(new WriteOp.Create(FleetIndex.ACTION_RESULTS, actionId + ":" + agentId,
                    Json.object().put("action_id", actionId).put("agent_id", agentId)));
        }
        store.bulk(results).get(60, TimeUnit.SECONDS);
        JsonNode counted = admin.actionResults(actionId).get(60, TimeUnit.SECONDS);
        assertThat(counted.get("acked").asInt()).isEqualTo(matching);
        assertThat(counted.get("pending").asInt()).isZero();
        assertThat(counted.get("items")).hasSize(AgentAdminService.RESULTS_LISTED);
        assertThat(admin.actionStatus(20).get(60, TimeUnit.SECONDS).at("/items/0/nbAgentsAck").asInt()).isEqualTo(matching);
    }

    @Test
    void reassigningAnAgentToThePolicyItIsOnKeepsItsRevisionAndToAnotherStartsFromNone() throws Exception {
        for (String p : new String[] {"p1", "p2"}) {
            store.create(FleetIndex.POLICIES, p + ":1", Json.object().put("policy_id", p).put("revision_idx", 1))
                    .get(5, TimeUnit.SECONDS);
        }
        store.create(FleetIndex.AGENTS, "a1", agent("p1", true).put("agent_policy_id", "p1").put("policy_revision_idx", 4))
                .get(5, TimeUnit.SECONDS);

        admin.reassign("a1", Json.object().put("policy_id", "p1")).get(10, TimeUnit.SECONDS);
        assertThat(store.get(FleetIndex.AGENTS, "a1").get(5, TimeUnit.SECONDS).orElseThrow().source()
                .get("policy_revision_idx").asLong()).isEqualTo(4);

        admin.reassign("a1", Json.object().put("policy_id", "p2")).get(10, TimeUnit.SECONDS);
        JsonNode moved = store.get(FleetIndex.AGENTS, "a1").get(5, TimeUnit.SECONDS).orElseThrow().source();
        assertThat(moved.get("policy_id").asText()).isEqualTo("p2");
        assertThat(moved.get("policy_revision_idx").asLong()).isZero();
    }

    private static ObjectNode agent(String policyId, boolean active) {
        ObjectNode a = Json.object();
        a.put("active", active);
        a.put("policy_id", policyId);
        a.putObject("agent").put("version", "9.0.0");
        return a;
    }

    @Test
    void everyPageHoldsTheRightAgentsNewestFirstWhetherTheStoreOrTheServiceCutsIt() throws Exception {
        List<WriteOp> ops = new ArrayList<>();
        String now = CLOCK.instant().toString();
        for (int i = 0; i < 130; i++) {
            ObjectNode a = agent(i % 2 == 0 ? "even" : "odd", i != 7)
                    .put("enrolled_at", Instant.parse("2024-01-01T00:00:00Z").plusSeconds(i).toString());
            if (i % 3 == 0) {
                a.put("last_checkin", now);
            }
            ops.add(new WriteOp.Create(FleetIndex.AGENTS, "a" + i, a));
        }
        store.bulk(ops).get(30, TimeUnit.SECONDS);

        JsonNode third = admin.listAgents(3, 50, null, false).get(10, TimeUnit.SECONDS);
        assertThat(third.get("total").asInt()).as("the inactive one left out").isEqualTo(129);
        assertThat(third.get("items")).hasSize(29);
        assertThat(third.at("/items/0/id").asText()).isEqualTo("a29");
        assertThat(third.at("/items/28/id").asText()).isEqualTo("a0");
        assertThat(admin.listAgents(1, 50, null, true).get(10, TimeUnit.SECONDS).get("total").asInt()).isEqualTo(130);
        JsonNode even = admin.listAgents(2, 10, "policy_id:even", false).get(10, TimeUnit.SECONDS);
        assertThat(even.get("total").asInt()).isEqualTo(65);
        assertThat(even.at("/items/0/id").asText()).isEqualTo("a108");
        JsonNode online = admin.listAgents(1, 100, "status:online and policy_id:even", false).get(10, TimeUnit.SECONDS);
        assertThat(online.get("total").asInt()).as("every sixth agent").isEqualTo(22);
        assertThat(online.at("/items/0/id").asText()).isEqualTo("a126");
    }

    @Test
    void aFleetLargerThanOneSearchWindowIsListedToItsLastPageAndCountedWhole() throws Exception {
        int agents = AgentAdminService.LIST_WINDOW + 25;
        List<WriteOp> ops = new ArrayList<>();
        for (int i = 0; i < agents; i++) {
            ops.add(new WriteOp.Create(FleetIndex.AGENTS, "a" + i, agent("p1", true)
                    .put("enrolled_at", Instant.parse("2024-01-01T00:00:00Z").plusSeconds(i).toString())));
        }
        store.bulk(ops).get(60, TimeUnit.SECONDS);

        JsonNode first = admin.listAgents(1, 100, null, false).get(60, TimeUnit.SECONDS);
        JsonNode last = admin.listAgents(101, 100, "policy_id:p1", false).get(60, TimeUnit.SECONDS);

        assertThat(first.get("total").asInt()).isEqualTo(agents);
        assertThat(first.at("/items/0/id").asText()).isEqualTo("a" + (agents - 1));
        assertThat(last.get("total").asInt()).isEqualTo(agents);
        assertThat(last.get("items")).hasSize(25);
        assertThat(last.at("/items/24/id").asText()).isEqualTo("a0");
        assertThat(admin.agentStatus(null).get(60, TimeUnit.SECONDS).at("/results/total").asInt()).isEqualTo(agents);
        assertThat(admin.agentStatus("p1").get(60, TimeUnit.SECONDS).at("/results/total").asInt()).isEqualTo(agents);
    }

    @Test
    void theSummaryCountsEveryAgentByStatusAndTheActiveOnesByPolicyRevisionAndVersion() throws Exception {
        FleetRepository repo = new FleetRepository(store);
        repo.createPolicyRevision("p1:1", Json.object().put("policy_id", "p1").put("revision_idx", 1).put("name", "Linux"))
                .get(5, TimeUnit.SECONDS);
        repo.createPolicyRevision("p1:2", Json.object().put("policy_id", "p1").put("revision_idx", 2).put("name", "Linux"))
                .get(5, TimeUnit.SECONDS);
        String now = CLOCK.instant().toString();
        List<WriteOp> agents = new ArrayList<>();
        agents.add(new WriteOp.Create(FleetIndex.AGENTS, "current", agent("p1", true).put("policy_revision_idx", 2)
                .put("last_checkin", now)));
        agents.add(new WriteOp.Create(FleetIndex.AGENTS, "behind", agent("p1", true).put("policy_revision_idx", 1)
                .put("last_checkin", now).put("last_checkin_status", "degraded")));
        ObjectNode newer = agent("p2", true).put("last_checkin", now);
        newer.putObject("agent").put("version", "9.1.0");
        agents.add(new WriteOp.Create(FleetIndex.AGENTS, "other", newer));
        agents.add(new WriteOp.Create(FleetIndex.AGENTS, "gone", agent("p1", false).put("unenrolled_at", now)));
        store.bulk(agents).get(10, TimeUnit.SECONDS);

        JsonNode summary = admin.summary().get(10, TimeUnit.SECONDS);

        assertThat(summary.get("total").asInt()).isEqualTo(4);
        assertThat(summary.get("active").asInt()).isEqualTo(3);
        assertThat(summary.at("/by_status/online").asInt()).isEqualTo(2);
        assertThat(summary.at("/by_status/degraded").asInt()).isEqualTo(1);
        assertThat(summary.at("/by_status/unenrolled").asInt()).isEqualTo(1);
        JsonNode p1 = summary.at("/by_policy/0");
        assertThat(p1.get("policy_id").asText()).isEqualTo("p1");
        assertThat(p1.get("name").asText()).isEqualTo("Linux");
        assertThat(p1.get("revision").asInt()).isEqualTo(2);
        assertThat(p1.get("agents").asInt()).as("active agents only").isEqualTo(2);
        assertThat(p1.get("outdated").asInt()).isEqualTo(1);
        assertThat(summary.at("/by_policy/1/policy_id").asText()).isEqualTo("p2");
        assertThat(summary.at("/by_version/0/version").asText()).isEqualTo("9.0.0");
        assertThat(summary.at("/by_version/0/agents").asInt()).isEqualTo(2);
        assertThat(summary.at("/by_version/1/version").asText()).isEqualTo("9.1.0");
    }

    @Test
    void callersWithinTwoSecondsShareOneSummaryAndLaterOnesSeeNewAgents() throws Exception {
        MutableClock clock = new MutableClock(CLOCK.instant());
        FleetRepository repo = new FleetRepository(store);
        AgentAdminService shared = new AgentAdminService(repo, new AgentKeyRevoker(repo, new EmbeddedApiKeys(store, clock), null, clock), clock);
        repo.createAgent("a1", agent("p1", true)).get(5, TimeUnit.SECONDS);
        assertThat(shared.summary().get(10, TimeUnit.SECONDS).get("total").asInt()).isEqualTo(1);

        repo.createAgent("a2", agent("p1", true)).get(5, TimeUnit.SECONDS);
        clock.advance(java.time.Duration.ofMillis(1_500));
        ObjectNode cached = shared.summary().get(10, TimeUnit.SECONDS);
        assertThat(cached.get("total").asInt()).isEqualTo(1);
        cached.put("total", 99);
        assertThat(shared.summary().get(10, TimeUnit.SECONDS).get("total").asInt()).as("each caller gets its own copy").isEqualTo(1);

        clock.advance(java.time.Duration.ofMillis(600));
        assertThat(shared.summary().get(10, TimeUnit.SECONDS).get("total").asInt()).isEqualTo(2);
    }

    @Test
    void anAgentsActionsCarryItsOwnResultNewestFirst() throws Exception {
        store.bulk(List.of(new WriteOp.Create(FleetIndex.AGENTS, "a1", agent("p1", true)),
                new WriteOp.Create(FleetIndex.AGENTS, "a2", agent("p1", true)))).get(10, TimeUnit.SECONDS);
        String diagnostics = admin.requestDiagnostics("a1", Json.object()).get(10, TimeUnit.SECONDS).get("actionId").asText();
        String upgrade = admin.bulkUpgrade(Json.MAPPER.readTree("{\"agents\":[\"a1\",\"a2\"],\"version\":\"9.6.0\"}"))
                .get(10, TimeUnit.SECONDS).get("actionId").asText();
        FleetRepository repo = new FleetRepository(store);
        repo.createActionResult(diagnostics, "a1", Json.object().put("action_id", diagnostics).put("agent_id", "a1")
                .put("@timestamp", "2024-05-01T12:00:05Z")).get(5, TimeUnit.SECONDS);
        repo.createActionResult(upgrade, "a2", Json.object().put("action_id", upgrade).put("agent_id", "a2")
                .put("error", "download failed")).get(5, TimeUnit.SECONDS);

        JsonNode items = admin.agentActions("a1").get(10, TimeUnit.SECONDS).get("items");

        assertThat(items).hasSize(2);
        JsonNode byId0 = items.get(0).get("actionId").asText().equals(upgrade) ? items.get(0) : items.get(1);
        JsonNode byId1 = byId0 == items.get(0) ? items.get(1) : items.get(0);
        assertThat(byId0.get("type").asText()).isEqualTo("UPGRADE");
        assertThat(byId0.get("status").asText()).as("another agent's failure is not this agent's").isEqualTo("PENDING");
        assertThat(byId1.get("type").asText()).isEqualTo("REQUEST_DIAGNOSTICS");
        assertThat(byId1.get("status").asText()).isEqualTo("ACKED");
        assertThat(admin.agentActions("a2").get(10, TimeUnit.SECONDS).at("/items/0/error").asText()).isEqualTo("download failed");
        assertThatThrownBy(() -> admin.agentActions("nobody").get(10, TimeUnit.SECONDS))
                .hasCauseInstanceOf(FleetException.class);

        JsonNode results = admin.actionResults(upgrade).get(10, TimeUnit.SECONDS);
        assertThat(results.get("total").asInt()).isEqualTo(2);
        assertThat(results.get("failed").asInt()).isEqualTo(1);
        assertThat(results.get("pending").asInt()).isEqualTo(1);
        assertThat(results.at("/items/0/agent_id").asText()).as("failures first").isEqualTo("a2");
        assertThat(results.at("/items/0/error").asText()).isEqualTo("download failed");
        assertThat(results.at("/items/1/status").asText()).isEqualTo("PENDING");
        assertThat(admin.actionResults(diagnostics).get(10, TimeUnit.SECONDS).at("/items/0/status").asText()).isEqualTo("ACKED");
        assertThatThrownBy(() -> admin.actionResults("no-such-action").get(10, TimeUnit.SECONDS))
                .hasCauseInstanceOf(FleetException.class);
    }

    @Test
    void getAgentAddsStatusAndHidesSecrets() throws Exception {
        new FleetRepository(store).createAgent("a1", (ObjectNode) Json.MAPPER.readTree("{\"active\":true,\"last_checkin\":\""
                + CLOCK.instant() + "\",\"policy_revision_idx\":4,"
                + "\"replace_token\":\"secret\",\"outputs\":{\"default\":{\"api_key\":\"id:key\",\"api_key_id\":\"id\"}}}"))
                .get(5, TimeUnit.SECONDS);

        JsonNode item = admin.getAgent("a1").get(10, TimeUnit.SECONDS).get("item");

        assertThat(item.get("id").asText()).isEqualTo("a1");
        assertThat(item.get("status").asText()).isEqualTo("online");
        assertThat(item.get("policy_revision").asLong()).isEqualTo(4);
        assertThat(item.has("replace_token")).isFalse();
        assertThat(item.at("/outputs/default").has("api_key")).isFalse();
        assertThat(item.at("/outputs/default/api_key_id").asText()).isEqualTo("id");
        assertThatThrownBy(() -> admin.getAgent("nope").get(10, TimeUnit.SECONDS))
                .hasCauseInstanceOf(FleetException.class)
                .satisfies(e -> assertThat(((FleetException) e.getCause()).error()).isEqualTo(FleetError.MANAGEMENT_NOT_FOUND));
    }
}
