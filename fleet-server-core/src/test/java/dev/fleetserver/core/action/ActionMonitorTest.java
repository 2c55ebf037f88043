package dev.fleetserver.core.action;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.longpoll.CheckinRegistry;
import dev.fleetserver.core.longpoll.Parking;
import dev.fleetserver.core.longpoll.RecordingSink;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.ManualScheduler;
import dev.fleetserver.core.util.Times;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActionMonitorTest {
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");

    @TempDir
    Path dataDir;

    private SqliteDocumentStore store;
    private final CheckinRegistry registry = new CheckinRegistry();
    private final ManualScheduler scheduler = new ManualScheduler();
    private ActionMonitor dispatcher;

    @BeforeEach
    void open() throws Exception {
        store = SqliteDocumentStore.open(dataDir);
        dispatcher = new ActionMonitor(new dev.fleetserver.core.model.FleetRepository(store), registry, new ActionSecrets(new dev.fleetserver.core.secret.IndexSecretStore(store)), Clock.fixed(NOW, ZoneOffset.UTC), scheduler);
        dispatcher.start().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() {
        dispatcher.stop();
        store.close();
    }

    private static WriteOp action(String docId, String actionId, String type, Instant expiration, String... agents) {
        ObjectNode doc = Json.object();
        doc.put("@timestamp", "2024-05-01T11:59:00.000Z");
        doc.put("action_id", actionId);
        doc.put("type", type);
        if (expiration != null) {
            doc.put("expiration", Times.millis(expiration));
        }
        doc.putObject("data").put("log_level", "debug");
        var arr = doc.putArray("agents");
        for (String a : agents) {
            arr.add(a);
        }
        return new WriteOp.Create(FleetIndex.ACTIONS, docId, doc);
    }

    private List<WriteResult> writeAndAwaitFeed(WriteOp... ops) throws Exception {
        long before = scheduler.scheduledCount();
        List<WriteResult> results = store.bulk(List.of(ops)).get(5, TimeUnit.SECONDS);
        results.forEach(WriteResult::orThrow);
        assertThat(scheduler.awaitScheduledCount(before + 1, Duration.ofSeconds(5))).as("feed handled the write").isTrue();
        scheduler.runDue();
        return results;
    }

    private static JsonNode body(RecordingSink sink) throws Exception {
        return Json.MAPPER.readTree(sink.awaitBody());
    }

    @Test
    void aNewActionWakesOnlyTheTargetedParkedAgentsWithTheDocIdAsAckToken() throws Exception {
        RecordingSink a1 = new RecordingSink();
        RecordingSink a2 = new RecordingSink();
        RecordingSink a3 = new RecordingSink();
        Parking.park(registry, "a1", "p1", 1, -1, a1);
        Parking.park(registry, "a2", "p1", 1, -1, a2);
        Parking.park(registry, "a3", "p1", 1, -1, a3);

        writeAndAwaitFeed(action("doc-1", "act-1", "SETTINGS", NOW.plus(Duration.ofHours(1)), "a1", "a2", "not-parked"));

        for (String agent : List.of("a1", "a2")) {
            JsonNode body = body(agent.equals("a1") ? a1 : a2);
            assertThat(body.get("ack_token").asText()).isEqualTo("doc-1");
            assertThat(body.get("action").asText()).isEqualTo("checkin");
            assertThat(body.get("actions")).hasSize(1);
            JsonNode action = body.get("actions").get(0);
            assertThat(action.get("id").asText()).isEqualTo("act-1");
            assertThat(action.get("agent_id").asText()).isEqualTo(agent);
            assertThat(action.get("type").asText()).isEqualTo("SETTINGS");
            assertThat(action.get("data").get("log_level").asText()).isEqualTo("debug");
        }
        assertThat(a3.answered()).isFalse();
        assertThat(registry.size()).isEqualTo(1);
    }

    @Test
    void severalActionsForOneAgentComeInOneAnswerAckedByTheLastDocument() throws Exception {
        RecordingSink sink = new RecordingSink();
        Parking.park(registry, "a1", "p1", 1, -1, sink);
        Instant exp = NOW.plus(Duration.ofHours(1));

        writeAndAwaitFeed(action("doc-1", "act-1", "SETTINGS", exp, "a1"), action("doc-2", "act-2", "UPGRADE", exp, "a1"));

        JsonNode body = body(sink);
        assertThat(body.get("ack_token").asText()).isEqualTo("doc-2");
        assertThat(body.get("actions")).extracting(a -> a.get("id").asText()).containsExactly("act-1", "act-2");
        assertThat(sink.responses.get()).isEqualTo(1);
    }

    @Test
    void expiredAndNonDeliverableActionsAreNotDispatched() throws Exception {
        RecordingSink sink = new RecordingSink();
        Parking.park(registry, "a1", "p1", 1, -1, sink);

        writeAndAwaitFeed(
                action("expired", "act-1", "SETTINGS", NOW.minusSeconds(1), "a1"),
                action("expiring-now", "act-2", "SETTINGS", NOW, "a1"),
                action("no-expiration", "act-3", "SETTINGS", null, "a1"),
                action("policy-change", "act-4", "POLICY_CHANGE", NOW.plus(Duration.ofHours(1)), "a1"),
                action("tags", "act-5", "UPDATE_TAGS", NOW.plus(Duration.ofHours(1)), "a1"),
                action("force", "act-6", "FORCE_UNENROLL", NOW.plus(Duration.ofHours(1)), "a1"));

        assertThat(sink.answered()).isFalse();
        assertThat(registry.forAgent("a1")).isNotNull();

        writeAndAwaitFeed(action("good", "act-7", "UNENROLL", NOW.plus(Duration.ofHours(1)), "a1"));
        JsonNode body = body(sink);
        assertThat(body.get("ack_token").asText()).isEqualTo("good");
        assertThat(body.get("actions")).hasSize(1);
        assertThat(body.get("actions").get(0).get("data").isNull()).isTrue();
    }

    @Test
    void anAgentThatAlreadyHasTheActionIsNotWoken() throws Exception {
        RecordingSink sink = new RecordingSink();
        Parking.park(registry, "a1", "p1", 1, Long.MAX_VALUE, sink);

        writeAndAwaitFeed(action("doc-1", "act-1", "SETTINGS", NOW.plus(Duration.ofHours(1)), "a1"));

        assertThat(sink.answered()).isFalse();
    }

    @Test
    void theCheckpointCoversWhatHasBeenDispatched() throws Exception {
        long start = dispatcher.checkpoint();

        List<WriteResult> written = writeAndAwaitFeed(action("doc-1", "act-1", "SETTINGS", NOW.plus(Duration.ofHours(1)), "x"));

        assertThat(dispatcher.checkpoint()).isGreaterThan(start).isGreaterThanOrEqualTo(written.get(0).seqNo());
    }

    @Test
    void actionsWrittenBeforeStartAreNotReplayed() throws Exception {
        long handled = scheduler.scheduledCount();
        store.bulk(List.of(action("old", "act-0", "SETTINGS", NOW.plus(Duration.ofHours(1)), "a1"))).get(5, TimeUnit.SECONDS);
        assertThat(scheduler.awaitScheduledCount(handled + 1, Duration.ofSeconds(5))).isTrue();
        dispatcher.stop();
        scheduler.runDue();

        ManualScheduler fresh = new ManualScheduler();
        ActionMonitor second = new ActionMonitor(new dev.fleetserver.core.model.FleetRepository(store), registry, new ActionSecrets(new dev.fleetserver.core.secret.IndexSecretStore(store)), Clock.fixed(NOW, ZoneOffset.UTC), fresh);
        RecordingSink sink = new RecordingSink();
        Parking.park(registry, "a1", "p1", 1, -1, sink);
        second.start().get(5, TimeUnit.SECONDS);
        long before = fresh.scheduledCount();
        store.bulk(List.of(action("new", "act-1", "SETTINGS", NOW.plus(Duration.ofHours(1)), "a1"))).get(5, TimeUnit.SECONDS);
        assertThat(fresh.awaitScheduledCount(before + 1, Duration.ofSeconds(5))).isTrue();
        second.stop();

        JsonNode body = body(sink);
        assertThat(body.get("ack_token").asText()).isEqualTo("new");
        assertThat(body.get("actions")).extracting(a -> a.get("id").asText()).containsExactly("act-1");
    }
}
