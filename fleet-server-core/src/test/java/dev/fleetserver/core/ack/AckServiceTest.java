package dev.fleetserver.core.ack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.agent.AgentKeyRevoker;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.DelegatingStore;
import dev.fleetserver.core.util.Json;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AckServiceTest {
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");

    @TempDir
    Path dataDir;

    private SqliteDocumentStore store;
    private FleetRepository repo;
    private AckService service;

    @BeforeEach
    void open() throws Exception {
        store = SqliteDocumentStore.open(dataDir);
        repo = new FleetRepository(store);
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        var apiKeys = new dev.fleetserver.core.store.embedded.EmbeddedApiKeys(store, clock);
        var keyCache = new dev.fleetserver.core.auth.ApiKeyAuthenticator(apiKeys, clock, Duration.ofMinutes(15),
                Duration.ZERO, 100);
        service = new AckService(repo, new AgentKeyRevoker(repo, apiKeys, keyCache, clock), clock);
        ObjectNode agent = (ObjectNode) Json.MAPPER.readTree("{\"active\":true,\"policy_id\":\"p1\",\"policy_revision_idx\":2,"
                + "\"agent\":{\"id\":\"agent-1\",\"version\":\"9.6.0\"},\"namespaces\":[\"default\"]}");
        repo.createAgent("agent-1", agent).get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private Agent agent() throws Exception {
        return repo.agent("agent-1").get(5, TimeUnit.SECONDS).orElseThrow();
    }

    private AckResult ack(Agent agent, String body) throws Exception {
        return service.ack(agent, tree(body)).get(5, TimeUnit.SECONDS);
    }

    private AckResult ack(String body) throws Exception {
        return ack(agent(), body);
    }

    private static String events(String... actionIds) {
        StringBuilder b = new StringBuilder("{\"events\":[");
        for (int i = 0; i < actionIds.length; i++) {
            b.append(i == 0 ? "" : ",").append("{\"type\":\"ACTION_RESULT\",\"agent_id\":\"agent-1\",\"action_id\":\"")
                    .append(actionIds[i]).append("\"}");
        }
        return b.append("]}").toString();
    }

    /** An action document addressed to {@code agents} (agent-1 when none are named), as Kibana writes it. */
    private void putAction(String docId, String actionId, String... agents) throws Exception {
        ObjectNode action = Json.object().put("action_id", actionId).put("type", "SETTINGS");
        var to = action.putArray("agents");
        for (String a : agents.length == 0 ? new String[] {"agent-1"} : agents) {
            to.add(a);
        }
        store.create(FleetIndex.ACTIONS, docId, action).get(5, TimeUnit.SECONDS);
    }

    private List<Doc> actionResults() throws Exception {
        return store.search(FleetIndex.ACTION_RESULTS, Query.where()).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aPolicyAckMovesTheRevisionForward() throws Exception {
        AckResult result = ack(events("policy:p1:3"));

        assertThat(result.items()).containsExactly(new AckResult.Item(200, "OK"));
        assertThat(result.httpStatus()).isEqualTo(200);
        Agent after = agent();
        assertThat(after.policyRevisionIdx()).isEqualTo(3);
        assertThat(after.source().get("updated_at").asText()).isEqualTo("2024-05-01T12:00:00.000Z");
    }

    @Test
    void aPolicyAckNeverMovesTheRevisionBack() throws Exception {
        long seq = agent().seqNo();

        ack(events("policy:p1:1"));
        ack(events("policy:p1:2"));

        Agent after = agent();
        assertThat(after.policyRevisionIdx()).isEqualTo(2);
        assertThat(after.seqNo()).as("nothing written").isEqualTo(seq);
    }

    @Test
    void aPolicyAckForAnotherPolicyChangesNothing() throws Exception {
        AckResult result = ack(events("policy:p2:9"));

        assertThat(result.items()).containsExactly(new AckResult.Item(200, "OK"));
        assertThat(agent().policyRevisionIdx()).isEqualTo(2);
    }

    @Test
    void theHighestAckedRevisionOfTheCurrentPolicyWins() throws Exception {
        ack(events("policy:p1:5", "policy:p1:4", "policy:p2:99", "policy:p1:bad", "policy:p1"));

        assertThat(agent().policyRevisionIdx()).isEqualTo(5);
    }

    @Test
    void aPolicyAckWithAnErrorIsAnsweredButNotApplied() throws Exception {
        AckResult result = ack("{\"events\":[{\"action_id\":\"policy:p1:3\",\"error\":\"failed to apply\"}]}");

        assertThat(result.items()).containsExactly(new AckResult.Item(200, "OK"));
        assertThat(agent().policyRevisionIdx()).isEqualTo(2);
    }

    @Test
    void aPolicyAckWithCoordinatorSuffixIsApplied() throws Exception {
        ack(events("policy:p1:4:1"));

        assertThat(agent().policyRevisionIdx()).isEqualTo(4);
    }

    @Test
    void aStaleAgentIsReReadAndTheAckStillApplied() throws Exception {
        Agent stale = agent();
        store.update(FleetIndex.AGENTS, "agent-1", Json.object().put("last_checkin", "2024-05-01T11:00:00.000Z")).get(5, TimeUnit.SECONDS);

        ack(stale, events("policy:p1:3"));

        Agent after = agent();
        assertThat(after.policyRevisionIdx()).isEqualTo(3);
        assertThat(after.source().get("last_checkin").asText()).isEqualTo("2024-05-01T11:00:00.000Z");
    }

    @Test
    void aConcurrentNewerRevisionIsNotRolledBack() throws Exception {
        Agent stale = agent();
        store.update(FleetIndex.AGENTS, "agent-1", Json.object().put("policy_revision_idx", 6)).get(5, TimeUnit.SECONDS);

        ack(stale, events("policy:p1:4"));

        assertThat(agent().policyRevisionIdx()).isEqualTo(6);
    }

    @Test
    void aConcurrentReassignmentIsNotOverwritten() throws Exception {
        Agent stale = agent();
        store.update(FleetIndex.AGENTS, "agent-1", Json.object().put("policy_id", "p2").put("policy_revision_idx", 0)).get(5, TimeUnit.SECONDS);

        ack(stale, events("policy:p1:4"));

        Agent after = agent();
        assertThat(after.policyId()).isEqualTo("p2");
        assertThat(after.policyRevisionIdx()).isZero();
    }

    @Test
    void anUnknownActionIsANotFoundItem() throws Exception {
        AckResult result = ack(events("no-such-action"));

        assertThat(result.items()).containsExactly(new AckResult.Item(404, "Not Found"));
        assertThat(result.httpStatus()).isEqualTo(404);
        assertThat(result.body().get("errors").asBoolean()).isTrue();
        assertThat(store.search(FleetIndex.ACTION_RESULTS, Query.where()).get(5, TimeUnit.SECONDS))
                .isEmpty();
    }

    /** An action document of {@code type} for agent-1 in the given Kibana spaces. */
    private void putTypedAction(String docId, String actionId, String type, String... namespaces) throws Exception {
        ObjectNode action = Json.object().put("action_id", actionId).put("type", type);
        action.putArray("agents").add("agent-1");
        if (namespaces.length > 0) {
            var ns = action.putArray("namespaces");
            for (String n : namespaces) {
                ns.add(n);
            }
        }
        store.create(FleetIndex.ACTIONS, docId, action).get(5, TimeUnit.SECONDS);
    }

    private JsonNode result(String actionId) throws Exception {
        return store.get(FleetIndex.ACTION_RESULTS, actionId + ":agent-1").get(5, TimeUnit.SECONDS).orElseThrow().source();
    }

    @Test
    void anAckedActionWritesAResultWithIdActionIdColonAgentIdAsTheOriginalWritesIt() throws Exception {
        putTypedAction("doc-1", "act-1", "SETTINGS", "space-a");

        AckResult result = ack("{\"events\":[{\"type\":\"ACTION_RESULT\",\"agent_id\":\"agent-1\",\"action_id\":\"act-1\","
                + "\"timestamp\":\"2024-05-01T13:59:59.500000+02:00\",\"error\":\"\",\"data\":{\"upload_id\":\"u1\"},"
                + "\"started_at\":\"2024-05-01T11:59:00Z\",\"message\":\"m\"}]}");

        assertThat(result.items()).containsExactly(new AckResult.Item(200, "OK"));
        JsonNode src = result("act-1");
        // The agent's time of the event, as Go writes it back; the action's spaces, not the agent's.
        assertThat(src).isEqualTo(tree("{\"action_id\":\"act-1\",\"agent_id\":\"agent-1\","
                + "\"namespaces\":[\"space-a\"],\"@timestamp\":\"2024-05-01T13:59:59.5+02:00\"}"));
    }

    @Test
    void anEventWithoutATimestampIsStampedWithTheServersTime() throws Exception {
        putTypedAction("doc-1", "act-1", "SETTINGS");

        ack("{\"events\":[{\"action_id\":\"act-1\",\"error\":\"could not\"}]}");

        JsonNode src = result("act-1");
        assertThat(src.get("@timestamp").asText()).isEqualTo("2024-05-01T12:00:00Z");
        assertThat(src.get("error").asText()).isEqualTo("could not");
        assertThat(src.has("namespaces")).isFalse();
    }

    @Test
    void aDiagnosticsResultKeepsOnlyItsUploadId() throws Exception {
        putTypedAction("doc-1", "diag-1", "REQUEST_DIAGNOSTICS");

        ack("{\"events\":[{\"action_id\":\"diag-1\",\"timestamp\":\"2024-05-01T11:00:00Z\","
                + "\"data\":{\"upload_id\":\"u1\",\"other\":1},\"started_at\":\"2024-05-01T11:00:00Z\"}]}");

        JsonNode src = result("diag-1");
        assertThat(src.get("data")).isEqualTo(tree("{\"upload_id\":\"u1\"}"));
        assertThat(src.has("started_at")).isFalse();
    }

    @Test
    void anInputActionResultKeepsItsInputFieldsWithNormalisedTimes() throws Exception {
        putTypedAction("doc-1", "in-1", "INPUT_ACTION");

        ack("{\"events\":[{\"action_id\":\"in-1\",\"timestamp\":\"2024-05-01T11:00:02.000Z\","
                + "\"action_input_type\":\"osquery\",\"action_data\":{\"query\":\"select 1\"},"
                + "\"action_response\":{\"osquery\":{\"count\":1}},\"started_at\":\"2024-05-01T11:00:00.100000Z\","
                + "\"completed_at\":\"2024-05-01T13:00:01+02:00\",\"data\":{\"upload_id\":\"u1\"}}]}");

        assertThat(result("in-1")).isEqualTo(tree("{\"action_id\":\"in-1\",\"agent_id\":\"agent-1\","
                + "\"@timestamp\":\"2024-05-01T11:00:02Z\",\"action_input_type\":\"osquery\","
                + "\"started_at\":\"2024-05-01T11:00:00.1Z\",\"completed_at\":\"2024-05-01T13:00:01+02:00\","
                + "\"action_data\":{\"query\":\"select 1\"},\"action_response\":{\"osquery\":{\"count\":1}}}"));
    }

    @Test
    void anUnreadableTimestampOrANonStringErrorIsABadRequestItemAndWritesNothing() throws Exception {
        putTypedAction("doc-1", "act-1", "SETTINGS");

        AckResult result = ack("{\"events\":[{\"action_id\":\"act-1\",\"timestamp\":\"yesterday\"},"
                + "{\"action_id\":\"act-1\",\"error\":{\"code\":1}}]}");

        assertThat(result.items()).extracting(AckResult.Item::status).containsExactly(400, 400);
        assertThat(result.items().get(0).message()).startsWith("Bad request: timestamp: parsing time \"yesterday\"");
        assertThat(result.items().get(1).message()).isEqualTo("Bad request: error must be a string");
        assertThat(actionResults()).isEmpty();
    }

    @Test
    void ackingTheSameActionTwiceIsHarmlessAndKeepsTheFirstResult() throws Exception {
        putAction("doc-1", "act-1");
        ack("{\"events\":[{\"action_id\":\"act-1\",\"error\":\"first\"}]}");

        AckResult again = ack("{\"events\":[{\"action_id\":\"act-1\",\"error\":\"second\"}]}");

        assertThat(again.items()).containsExactly(new AckResult.Item(200, "OK"));
        Doc doc = store.get(FleetIndex.ACTION_RESULTS, "act-1:agent-1").get(5, TimeUnit.SECONDS).orElseThrow();
        assertThat(doc.source().get("error").asText()).isEqualTo("first");
    }

    @Test
    void itemsFollowTheEventsOrderAndTheHttpStatusIsTheHighest() throws Exception {
        putAction("doc-1", "act-1");

        AckResult result = ack("{\"events\":[{\"action_id\":\"act-1\"},{\"action_id\":\"missing\"},"
                + "{\"action_id\":\"act-1\",\"agent_id\":\"someone-else\"},{\"action_id\":\"policy:p1:3\"}]}");

        assertThat(result.items()).containsExactly(new AckResult.Item(200, "OK"), new AckResult.Item(404, "Not Found"),
                new AckResult.Item(400, "Bad Request"), new AckResult.Item(200, "OK"));
        assertThat(result.httpStatus()).isEqualTo(404);
    }

    @Test
    void anActionAddressedOnlyToAnotherAgentIsForbiddenAndWritesNoResult() throws Exception {
        putAction("doc-1", "act-1", "agent-2");

        AckResult result = ack(events("act-1"));

        assertThat(result.items()).containsExactly(new AckResult.Item(403, "Forbidden"));
        assertThat(result.httpStatus()).isEqualTo(403);
        assertThat(result.body().get("errors").asBoolean()).isTrue();
        assertThat(actionResults()).isEmpty();
    }

    @Test
    void anUnenrollOfAnotherAgentIsForbiddenAndLeavesThisOneEnrolled() throws Exception {
        store.create(FleetIndex.ACTIONS, "doc-u", Json.object().put("action_id", "unenroll-b").put("type", "UNENROLL")
                .set("agents", Json.array().add("agent-2"))).get(5, TimeUnit.SECONDS);

        AckResult result = ack(events("unenroll-b"));

        assertThat(result.items()).containsExactly(new AckResult.Item(403, "Forbidden"));
        assertThat(agent().active()).isTrue();
        assertThat(actionResults()).isEmpty();
    }

    @Test
    void anActionSplitOverSeveralDocumentsIsAckedByAnAgentNamedInAnyOfThem() throws Exception {
        putAction("doc-1", "act-1", "agent-2", "agent-3");
        putAction("doc-2", "act-1", "agent-4", "agent-1");

        AckResult result = ack(events("act-1"));

        assertThat(result.items()).containsExactly(new AckResult.Item(200, "OK"));
        assertThat(store.get(FleetIndex.ACTION_RESULTS, "act-1:agent-1").get(5, TimeUnit.SECONDS)).isPresent();
    }

    @Test
    void anActionWithoutAgentsWasNeverDeliveredAndIsForbidden() throws Exception {
        store.create(FleetIndex.ACTIONS, "doc-1", Json.object().put("action_id", "act-1").put("type", "SETTINGS"))
                .get(5, TimeUnit.SECONDS);

        assertThat(ack(events("act-1")).items()).containsExactly(new AckResult.Item(403, "Forbidden"));
        assertThat(actionResults()).isEmpty();
    }

    @Test
    void eventIdsThatCannotBeDocumentIdsAreBadRequestItemsNamingTheField() throws Exception {
        putAction("doc-1", "act-1");
        String longId = "a".repeat(513);

        AckResult result = ack("{\"events\":[{\"action_id\":\"" + longId + "\"},{\"action_id\":\"act\\u0000\"},"
                + "{\"action_id\":\"act-1\",\"agent_id\":\"" + longId + "\"},{\"action_id\":\"act-1\"}]}");

        assertThat(result.items()).containsExactly(
                new AckResult.Item(400, "Bad request: action_id must be at most 512 bytes"),
                new AckResult.Item(400, "Bad request: action_id must not contain control characters"),
                new AckResult.Item(400, "Bad request: agent_id must be at most 512 bytes"),
                new AckResult.Item(200, "OK"));
        assertThat(result.httpStatus()).isEqualTo(400);
    }

    @Test
    void anAppliedPolicyAckRecordsWhichPolicyTheRevisionIsOf() throws Exception {
        ack(events("policy:p1:3"));

        assertThat(agent().agentPolicyId()).isEqualTo("p1");
    }

    @Test
    void nullOrEmptyEventsGiveNoItems() throws Exception {
        for (String body : new String[] {"{\"events\":null}", "{\"events\":[]}", "{}"}) {
            AckResult result = ack(body);

            assertThat(result.items()).isEmpty();
            assertThat(result.httpStatus()).isEqualTo(200);
            assertThat(Json.string(result.body())).isEqualTo("{\"action\":\"acks\"}");
        }
    }

    @Test
    void bodiesOfTheWrongShapeAreBadRequests() throws Exception {
        Agent agent = agent();
        for (String body : new String[] {"", "[]", "{\"events\":{}}", "{\"events\":[1]}"}) {
            assertThatThrownBy(() -> service.ack(agent, tree(body)))
                    .as(body)
                    .isInstanceOfSatisfying(FleetException.class, e -> assertThat(e.error()).isEqualTo(FleetError.BAD_REQUEST));
        }
    }

    /** The body as the HTTP layer hands it over: a tree, or null when empty. */
    private static com.fasterxml.jackson.databind.JsonNode tree(String body) {
        try {
            return body.isEmpty() ? null : Json.MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aPolicyAckThatLosesSeveralRacesToConcurrentWritesStillLands() throws Exception {
        AckService racing = new AckService(new FleetRepository(new RacingStore(store, 6)), null, Clock.fixed(NOW, ZoneOffset.UTC));
        AckResult result = racing.ack(agent(), tree(events("policy:p1:3"))).get(5, TimeUnit.SECONDS);

        assertThat(result.httpStatus()).isEqualTo(200);
        assertThat(agent().policyRevisionIdx()).isEqualTo(3);
    }

    @Test
    void aPolicyAckThatNeverWinsItsRaceFailsAsAConflictAndWritesNothing() throws Exception {
        AckService racing = new AckService(new FleetRepository(new RacingStore(store, Integer.MAX_VALUE)), null,
                Clock.fixed(NOW, ZoneOffset.UTC));
        assertThatThrownBy(() -> racing.ack(agent(), tree(events("policy:p1:3"))).get(5, TimeUnit.SECONDS))
                .hasCauseInstanceOf(StoreException.Conflict.class);
        assertThat(agent().policyRevisionIdx()).isEqualTo(2);
    }

    /**
     * The embedded store, with another writer's update of the same agent landing just before each of the first
     * {@code races} conditional updates: what a status flush or another server does between a read and a write.
     */
    private static final class RacingStore extends DelegatingStore {
        private final AtomicInteger races;

        RacingStore(DocumentStore store, int races) {
            super(store);
            this.races = new AtomicInteger(races);
        }

        @Override
        public CompletableFuture<List<WriteResult>> bulk(List<WriteOp> ops) {
            for (var op : ops) {
                if (op instanceof WriteOp.Update u && u.ifSeqNo() >= 0 && races.getAndDecrement() > 0) {
                    delegate.update(u.index(), u.id(), Json.object().put("last_checkin_status", "online")).join();
                }
            }
            return delegate.bulk(ops);
        }

        /** The wrapped store belongs to the test, which closes it. */
        @Override
        public void close() {
        }
    }
}
