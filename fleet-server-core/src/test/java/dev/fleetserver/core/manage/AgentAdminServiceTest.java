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
