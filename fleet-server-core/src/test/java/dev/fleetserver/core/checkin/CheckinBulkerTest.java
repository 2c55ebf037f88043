package dev.fleetserver.core.checkin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.util.DelegatingStore;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.MutableClock;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckinBulkerTest {
    private static final Instant T0 = Instant.parse("2024-05-01T12:00:00Z");

    @TempDir
    Path dataDir;

    private final MutableClock now = new MutableClock(T0);
    private final Clock clock = now;
    private SqliteDocumentStore store;
    private FleetRepository repo;
    private CheckinBulker bulker;

    @BeforeEach
    void open() throws Exception {
        store = SqliteDocumentStore.open(dataDir);
        repo = new FleetRepository(store);
        bulker = new CheckinBulker(repo, clock);
        for (String id : new String[] {"a1", "a2"}) {
            repo.createAgent(id, json("{\"active\":true,\"agent\":{\"id\":\"" + id + "\"}}")).get(5, TimeUnit.SECONDS);
        }
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static ObjectNode json(String s) throws Exception {
        return (ObjectNode) Json.MAPPER.readTree(s);
    }

    private ObjectNode source(String id) throws Exception {
        return repo.agent(id).get(5, TimeUnit.SECONDS).orElseThrow().source();
    }

    @Test
    void aHeartbeatAfterACheckinKeepsTheCheckinFieldsAndTakesTheLatestStatusAndTime() throws Exception {
        bulker.checkin("a1", json("{\"last_checkin_status\":\"online\",\"last_checkin_message\":\"Running\",\"local_metadata\":{\"x\":1}}"));
        now.set(T0.plusSeconds(30));
        bulker.heartbeat("a1", "degraded", "One unit failed");
        assertThat(bulker.pendingCount()).isEqualTo(1);

        bulker.flush().get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.path("local_metadata").path("x").asInt()).isEqualTo(1);
        assertThat(doc.path("last_checkin_status").asText()).isEqualTo("degraded");
        assertThat(doc.path("last_checkin_message").asText()).isEqualTo("One unit failed");
        assertThat(doc.path("last_checkin").asText()).isEqualTo("2024-05-01T12:00:30.000Z");
        assertThat(bulker.pendingCount()).isZero();
    }

    @Test
    void twoCheckinsOfOneAgentMergeTheirFieldsWithTheLaterWinning() throws Exception {
        bulker.checkin("a1", json("{\"last_checkin_status\":\"online\",\"tags\":[\"a\"],\"local_metadata\":{\"x\":1}}"));
        bulker.checkin("a1", json("{\"last_checkin_status\":\"error\",\"local_metadata\":{\"y\":2}}"));
        bulker.heartbeat("a2", "online", "");

        bulker.flush().get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.path("last_checkin_status").asText()).isEqualTo("error");
        assertThat(doc.path("local_metadata").path("x").asInt()).isEqualTo(1);
        assertThat(doc.path("local_metadata").path("y").asInt()).isEqualTo(2);
        assertThat(source("a2").path("last_checkin_status").asText()).isEqualTo("online");
    }

    @Test
    void aStoredCheckinNewerThanOursIsNotRolledBack() throws Exception {
        now.set(T0.plusSeconds(60));
        bulker.heartbeat("a1", "online", "");
        bulker.flush().get(5, TimeUnit.SECONDS);

        now.set(T0);
        bulker.heartbeat("a1", "error", "stale, from a slower server");
        bulker.flush().get(5, TimeUnit.SECONDS);

        assertThat(source("a1").path("last_checkin_status").asText()).isEqualTo("online");
    }

    @Test
    void aQueuedOlderRevisionOfTheSamePolicyIsLeftOutAndTheRestIsWritten() throws Exception {
        bulker.checkin("a1", json("{\"last_checkin_status\":\"online\",\"agent_policy_id\":\"p1\",\"policy_revision_idx\":1}"));
        // Meanwhile the agent acked revision 2 (or another server wrote it).
        repo.updateAgent("a1", json("{\"policy_id\":\"p1\",\"agent_policy_id\":\"p1\",\"policy_revision_idx\":2}"))
                .get(5, TimeUnit.SECONDS);

        bulker.flush().get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.path("policy_revision_idx").asLong()).isEqualTo(2);
        assertThat(doc.path("agent_policy_id").asText()).isEqualTo("p1");
        assertThat(doc.path("last_checkin_status").asText()).isEqualTo("online");
        assertThat(doc.path("last_checkin").asText()).isEqualTo("2024-05-01T12:00:00.000Z");
    }

    @Test
    void withoutAReportedPolicyTheStoredRevisionIsOfTheAssignedPolicy() throws Exception {
        repo.updateAgent("a1", json("{\"policy_id\":\"p1\",\"policy_revision_idx\":3}")).get(5, TimeUnit.SECONDS);
        bulker.checkin("a1", json("{\"agent_policy_id\":\"p1\",\"policy_revision_idx\":2}"));

        bulker.flush().get(5, TimeUnit.SECONDS);

        assertThat(source("a1").path("policy_revision_idx").asLong()).isEqualTo(3);
    }

    @Test
    void aReportedRevisionOfAnotherPolicyIsWrittenWhateverItsNumber() throws Exception {
        // The agent was moved from p1 (revision 5) to p2, which is at revision 1.
        repo.updateAgent("a1", json("{\"policy_id\":\"p2\",\"agent_policy_id\":\"p1\",\"policy_revision_idx\":5}"))
                .get(5, TimeUnit.SECONDS);
        bulker.checkin("a1", json("{\"agent_policy_id\":\"p2\",\"policy_revision_idx\":1}"));

        bulker.flush().get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.path("agent_policy_id").asText()).isEqualTo("p2");
        assertThat(doc.path("policy_revision_idx").asLong()).isEqualTo(1);
    }

    @Test
    void aNewerRevisionOfTheSamePolicyIsWritten() throws Exception {
        repo.updateAgent("a1", json("{\"policy_id\":\"p1\",\"agent_policy_id\":\"p1\",\"policy_revision_idx\":2}"))
                .get(5, TimeUnit.SECONDS);
        bulker.checkin("a1", json("{\"agent_policy_id\":\"p1\",\"policy_revision_idx\":3}"));

        bulker.flush().get(5, TimeUnit.SECONDS);

        assertThat(source("a1").path("policy_revision_idx").asLong()).isEqualTo(3);
    }

    @Test
    void aRevisionWrittenBetweenTheReadAndTheWriteIsNotRolledBack() throws Exception {
        repo.updateAgent("a1", json("{\"policy_id\":\"p1\",\"agent_policy_id\":\"p1\",\"policy_revision_idx\":1}"))
                .get(5, TimeUnit.SECONDS);
        // The ack of revision 2 lands right after the flush read the document: the conditional write must lose.
        AtomicBoolean acked = new AtomicBoolean();
        DocumentStore racing = new DelegatingStore(store) {
            @Override
            public CompletableFuture<Optional<Doc>> get(String index, String id) {
                return delegate.get(index, id).thenCompose(d -> acked.getAndSet(true)
                        ? CompletableFuture.completedFuture(d)
                        : delegate.update(index, id, Json.object().put("policy_revision_idx", 2)).thenApply(x -> d));
            }
        };
        CheckinBulker racingBulker = new CheckinBulker(new FleetRepository(racing), clock);
        racingBulker.checkin("a1", json("{\"last_checkin_status\":\"online\",\"agent_policy_id\":\"p1\",\"policy_revision_idx\":1}"));

        racingBulker.flush().get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.path("policy_revision_idx").asLong()).isEqualTo(2);
        assertThat(doc.path("last_checkin_status").asText()).isEqualTo("online");
    }

    @Test
    void checkinNowWritesAtOnceTogetherWithWhatWasQueued() throws Exception {
        bulker.checkin("a1", json("{\"local_metadata\":{\"x\":1}}"));
        now.set(T0.plusSeconds(2));

        bulker.checkinNow("a1", json("{\"last_checkin_status\":\"starting\"}")).get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.path("local_metadata").path("x").asInt()).isEqualTo(1);
        assertThat(doc.path("last_checkin_status").asText()).isEqualTo("starting");
        assertThat(doc.path("last_checkin").asText()).isEqualTo("2024-05-01T12:00:02.000Z");
        assertThat(bulker.pendingCount()).isZero();
    }

    @Test
    void aFlushOfMoreAgentsThanOneBulkWritesThemAll() throws Exception {
        int n = 2048 + 5;
        for (int i = 0; i < n; i++) {
            repo.createAgent("b" + i, json("{\"active\":true}")).get(5, TimeUnit.SECONDS);
            bulker.heartbeat("b" + i, "online", "");
        }

        bulker.flush().get(30, TimeUnit.SECONDS);

        assertThat(source("b0").path("last_checkin_status").asText()).isEqualTo("online");
        assertThat(source("b" + (n - 1)).path("last_checkin_status").asText()).isEqualTo("online");
        assertThat(bulker.pendingCount()).isZero();
    }

    private dev.fleetserver.core.model.Agent agent(String id) throws Exception {
        return repo.agent(id).get(5, TimeUnit.SECONDS).orElseThrow();
    }

    @Test
    void aCheckinOfAnAgentWithAuditMarksRemovesThemAndKeepsEverythingElse() throws Exception {
        repo.updateAgent("a1", json("{\"audit_unenrolled_reason\":\"uninstall\",\"audit_unenrolled_time\":\"2024-05-01T11:00:00Z\","
                + "\"unenrolled_at\":\"2024-05-01T11:00:00Z\",\"tags\":[\"kept\"]}")).get(5, TimeUnit.SECONDS);
        ObjectNode seen = CheckinBulker.auditMarks(agent("a1"));
        assertThat(seen).isNotNull();

        bulker.checkin("a1", json("{\"last_checkin_status\":\"online\"}"), seen);
        bulker.flush().get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.has("audit_unenrolled_reason")).isFalse();
        assertThat(doc.has("audit_unenrolled_time")).isFalse();
        assertThat(doc.has("unenrolled_at")).isFalse();
        assertThat(doc.path("last_checkin_status").asText()).isEqualTo("online");
        assertThat(doc.path("tags").get(0).asText()).isEqualTo("kept");
        assertThat(doc.path("agent").path("id").asText()).isEqualTo("a1");
    }

    @Test
    void anAgentWithoutAuditMarksHasNoneToRemove() throws Exception {
        assertThat(CheckinBulker.auditMarks(agent("a1"))).isNull();
        repo.updateAgent("a1", json("{\"audit_unenrolled_reason\":\"\",\"unenrolled_at\":null}")).get(5, TimeUnit.SECONDS);
        assertThat(CheckinBulker.auditMarks(agent("a1"))).isNull();
    }

    @Test
    void auditMarksWrittenAgainAfterTheCheckinSawThemAreLeftForTheNextCheckin() throws Exception {
        repo.updateAgent("a1", json("{\"audit_unenrolled_reason\":\"uninstall\",\"audit_unenrolled_time\":\"2024-05-01T11:00:00Z\"}"))
                .get(5, TimeUnit.SECONDS);
        bulker.checkin("a1", json("{\"last_checkin_status\":\"online\"}"), CheckinBulker.auditMarks(agent("a1")));
        // The agent reports again before the flush: that report stands.
        repo.updateAgent("a1", json("{\"audit_unenrolled_reason\":\"migrated\",\"audit_unenrolled_time\":\"2024-05-01T12:00:10Z\"}"))
                .get(5, TimeUnit.SECONDS);

        bulker.flush().get(5, TimeUnit.SECONDS);

        ObjectNode doc = source("a1");
        assertThat(doc.path("audit_unenrolled_reason").asText()).isEqualTo("migrated");
        assertThat(doc.path("last_checkin_status").asText()).isEqualTo("online");
    }

    @Test
    void aHeartbeatAfterTheCheckinStillRemovesTheMarksTheCheckinSaw() throws Exception {
        repo.updateAgent("a1", json("{\"audit_unenrolled_reason\":\"orphaned\",\"audit_unenrolled_time\":\"2024-05-01T11:00:00Z\"}"))
                .get(5, TimeUnit.SECONDS);
        bulker.checkin("a1", json("{\"last_checkin_status\":\"online\"}"), CheckinBulker.auditMarks(agent("a1")));
        now.set(T0.plusSeconds(30));
        bulker.heartbeat("a1", "online", "Running");

        bulker.flush().get(5, TimeUnit.SECONDS);

        assertThat(source("a1").has("audit_unenrolled_reason")).isFalse();
    }
}
