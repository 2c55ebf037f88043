package dev.fleetserver.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.longpoll.CheckinRegistry;
import dev.fleetserver.core.longpoll.Parking;
import dev.fleetserver.core.longpoll.RecordingSink;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.secret.IndexSecretStore;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.DelegatingStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.ManualScheduler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyMonitorTest {
    @TempDir
    Path dataDir;

    private SqliteDocumentStore store;
    private FleetRepository repo;
    private final CheckinRegistry registry = new CheckinRegistry();
    private final ManualScheduler scheduler = new ManualScheduler();
    private PolicyMonitor monitor;

    @BeforeEach
    void open() {
        store = SqliteDocumentStore.open(dataDir);
        repo = new FleetRepository(store);
        monitor = new PolicyMonitor(repo, registry, new IndexSecretStore(store), scheduler);
    }

    @AfterEach
    void close() {
        monitor.stop();
        store.close();
    }

    private static WriteOp.Create revisionOp(String policyId, long rev) {
        ObjectNode doc = Json.object();
        doc.put("@timestamp", "2024-05-01T12:00:0" + rev % 10 + ".000Z");
        doc.put("policy_id", policyId);
        doc.put("revision_idx", rev);
        doc.putObject("data").put("id", policyId).put("revision", rev).putObject("outputs");
        return new WriteOp.Create(FleetIndex.POLICIES, policyId + ":" + rev, doc);
    }

    private void write(WriteOp... ops) throws Exception {
        store.bulk(List.of(ops)).get(5, TimeUnit.SECONDS).forEach(r -> r.orThrow());
    }

    /** Writes, then waits until the change feed has handled the write (it re-arms itself once the handler returned). */
    private void writeAndAwaitFeed(WriteOp... ops) throws Exception {
        long before = scheduler.scheduledCount();
        write(ops);
        assertThat(scheduler.awaitScheduledCount(before + 1, Duration.ofSeconds(5))).as("feed handled the write").isTrue();
        scheduler.runDue();
    }

    private static JsonNode action(RecordingSink sink) throws Exception {
        return Json.MAPPER.readTree(sink.awaitBody()).get("actions").get(0);
    }

    @Test
    void startLoadsTheLatestRevisionOfEveryPolicy() throws Exception {
        write(revisionOp("p1", 1), revisionOp("p1", 2), revisionOp("p2", 7));

        monitor.start().get(5, TimeUnit.SECONDS);

        assertThat(monitor.latest("p1")).hasValueSatisfying(p -> assertThat(p.revision()).isEqualTo(2));
        assertThat(monitor.latest("p2")).hasValueSatisfying(p -> assertThat(p.revision()).isEqualTo(7));
        assertThat(monitor.latest("p3")).isEmpty();
    }

    @Test
    void latestOrLoadReadsAPolicyTheMonitorHasNotSeen() throws Exception {
        write(revisionOp("p1", 1), revisionOp("p1", 4));

        assertThat(monitor.latest("p1")).isEmpty();
        assertThat(monitor.latestOrLoad("p1").get(5, TimeUnit.SECONDS))
                .hasValueSatisfying(p -> assertThat(p.revision()).isEqualTo(4));
        assertThat(monitor.latest("p1")).isPresent();
        assertThat(monitor.latestOrLoad("unknown").get(5, TimeUnit.SECONDS)).isEmpty();
    }

    @Test
    void aNewRevisionWakesParkedCheckinsWithALowerRevisionOnly() throws Exception {
        write(revisionOp("p1", 1));
        monitor.start().get(5, TimeUnit.SECONDS);
        RecordingSink behind = new RecordingSink();
        RecordingSink current = new RecordingSink();
        RecordingSink otherPolicy = new RecordingSink();
        Parking.park(registry, "behind", "p1", 1, -1, behind);
        Parking.park(registry, "current", "p1", 2, -1, current);
        Parking.park(registry, "other", "p2", 0, -1, otherPolicy);

        writeAndAwaitFeed(revisionOp("p1", 2));

        JsonNode action = action(behind);
        assertThat(action.get("id").asText()).isEqualTo("policy:p1:2");
        assertThat(action.get("agent_id").asText()).isEqualTo("behind");
        assertThat(action.get("type").asText()).isEqualTo("POLICY_CHANGE");
        assertThat(current.answered()).isFalse();
        assertThat(otherPolicy.answered()).isFalse();
        assertThat(registry.size()).isEqualTo(2);
        assertThat(monitor.latest("p1")).hasValueSatisfying(p -> assertThat(p.revision()).isEqualTo(2));
    }

    @Test
    void severalRevisionsAtOnceDeliverOnlyTheNewest() throws Exception {
        monitor.start().get(5, TimeUnit.SECONDS);
        RecordingSink sink = new RecordingSink();
        Parking.park(registry, "a1", "p1", 0, -1, sink);

        writeAndAwaitFeed(revisionOp("p1", 1), revisionOp("p1", 2), revisionOp("p1", 3));

        assertThat(action(sink).get("id").asText()).isEqualTo("policy:p1:3");
        assertThat(sink.responses.get()).isEqualTo(1);
    }

    @Test
    void aRevisionOlderThanTheCachedOneWakesNobody() throws Exception {
        write(revisionOp("p1", 5));
        monitor.start().get(5, TimeUnit.SECONDS);
        RecordingSink sink = new RecordingSink();
        Parking.park(registry, "a1", "p1", 1, -1, sink);

        writeAndAwaitFeed(revisionOp("p1", 3));

        assertThat(sink.answered()).isFalse();
        assertThat(monitor.latest("p1")).hasValueSatisfying(p -> assertThat(p.revision()).isEqualTo(5));
    }

    @Test
    void successiveRevisionsKeepWakingNewlyParkedCheckins() throws Exception {
        write(revisionOp("p1", 1));
        monitor.start().get(5, TimeUnit.SECONDS);
        RecordingSink first = new RecordingSink();
        Parking.park(registry, "a1", "p1", 1, -1, first);
        writeAndAwaitFeed(revisionOp("p1", 2));
        assertThat(action(first).get("id").asText()).isEqualTo("policy:p1:2");

        RecordingSink second = new RecordingSink();
        Parking.park(registry, "a1", "p1", 2, -1, second);
        writeAndAwaitFeed(revisionOp("p1", 3));

        assertThat(action(second).get("id").asText()).isEqualTo("policy:p1:3");
        assertThat(registry.size()).isZero();
    }

    @Test
    void aDocumentWithoutPolicyIdIsIgnored() throws Exception {
        monitor.start().get(5, TimeUnit.SECONDS);
        RecordingSink sink = new RecordingSink();
        Parking.park(registry, "a1", "p1", 0, -1, sink);

        writeAndAwaitFeed(new WriteOp.Create(FleetIndex.POLICIES, "junk", Json.object().put("revision_idx", 9)));

        assertThat(sink.answered()).isFalse();
    }

    @Test
    void aRevisionFirstLoadedByACheckinStillWakesTheCheckinsAlreadyParked() throws Exception {
        GatedFeedStore gated = new GatedFeedStore(store);
        PolicyMonitor gatedMonitor = new PolicyMonitor(new FleetRepository(gated), registry, new IndexSecretStore(gated), scheduler);
        try {
            gatedMonitor.start().get(5, TimeUnit.SECONDS);
            RecordingSink parked = new RecordingSink();
            Parking.park(registry, "parked", "p1", 0, -1, parked);
            gated.hold();

            long before = scheduler.scheduledCount();
            write(revisionOp("p1", 1));
            // Another agent's checkin asks for the policy before the feed has handled the new revision.
            assertThat(gatedMonitor.latestOrLoad("p1").get(5, TimeUnit.SECONDS)).isPresent();
            gated.release();
            assertThat(scheduler.awaitScheduledCount(before + 1, Duration.ofSeconds(5))).isTrue();

            assertThat(action(parked).get("id").asText()).isEqualTo("policy:p1:1");
        } finally {
            gatedMonitor.stop();
        }
    }

    /** Holds the change feed's reads while {@link #hold()} is in effect; everything else passes straight through. */
    private static final class GatedFeedStore extends DelegatingStore {
        private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);

        GatedFeedStore(SqliteDocumentStore delegate) {
            super(delegate);
        }

        void hold() {
            gate = new CompletableFuture<>();
        }

        void release() {
            gate.complete(null);
        }

        @Override
        public CompletableFuture<List<Doc>> changesAfter(String index, long afterSeqNo, long upToSeqNo, int size) {
            return gate.thenCompose(v -> delegate.changesAfter(index, afterSeqNo, upToSeqNo, size));
        }

        @Override
        public void close() {
            // the test closes the real store
        }
    }
}
