package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.action;
import static dev.fleetserver.netty.e2e.E2eSupport.awaitActionsSeen;
import static dev.fleetserver.netty.e2e.E2eSupport.awaitParked;
import static dev.fleetserver.netty.e2e.E2eSupport.indexAction;
import static dev.fleetserver.netty.e2e.E2eSupport.runningPolicy;
import static dev.fleetserver.netty.e2e.E2eSupport.settingsAction;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Actions written to {@code .fleet-actions} (as Kibana does) reaching agents through checkins. */
class ActionDeliveryTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded()
            .server(server -> server.with("timeouts").put("checkin_long_poll", "30s"));
    Enrolled a;

    @BeforeEach
    void enroll() {
        a = fleet.enrollUpToDate();
    }

    private ObjectNode checkinWithToken(String ackToken) {
        ObjectNode body = runningPolicy("default", 1);
        body.put("ack_token", ackToken);
        return body;
    }

    @Test
    void anActionIndexedWhileTheAgentIsParkedWakesItWithinASecond() throws Exception {
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);

        ObjectNode doc = settingsAction("action-1", a.id());
        long written = System.nanoTime();
        indexAction(fleet.daemon(), "doc-1", doc);
        AgentClient.Reply r = parked.get(10, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(Duration.ofSeconds(1));

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("ack_token").asText()).isEqualTo("doc-1");
        assertThat(r.json().get("action").asText()).isEqualTo("checkin");
        assertThat(r.json().get("actions")).hasSize(1);
        JsonNode action = r.json().at("/actions/0");
        assertThat(action.get("id").asText()).isEqualTo("action-1");
        assertThat(action.get("type").asText()).isEqualTo("SETTINGS");
        assertThat(action.get("agent_id").asText()).isEqualTo(a.id());
        assertThat(action.get("input_type").asText()).isEmpty();
        assertThat(action.get("created_at").asText()).isEqualTo(doc.get("@timestamp").asText());
        assertThat(action.get("expiration").asText()).isEqualTo(doc.get("expiration").asText());
        assertThat(action.get("data")).isEqualTo(Json.object().put("log_level", "debug"));
        awaitParked(fleet.daemon(), 0);
    }

    @Test
    void actionsWrittenWhileTheAgentWasAwayComeAtOnceInOrder() {
        indexAction(fleet.daemon(), "doc-1", settingsAction("action-1", a.id()));
        long last = indexAction(fleet.daemon(), "doc-2", settingsAction("action-2", a.id()));
        // "While away": the server has seen both before the agent comes back (it follows the index asynchronously).
        awaitActionsSeen(fleet.daemon(), last);

        long start = System.nanoTime();
        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(r.json().get("ack_token").asText()).isEqualTo("doc-2");
        assertThat(r.json().get("actions")).extracting(n -> n.get("id").asText()).containsExactly("action-1", "action-2");
    }

    @Test
    void theNextCheckinWithTheAckTokenDoesNotGetTheActionAgain() throws Exception {
        indexAction(fleet.daemon(), "doc-1", settingsAction("action-1", a.id()));
        AgentClient.Reply first = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        assertThat(first.json().get("ack_token").asText()).isEqualTo("doc-1");

        CompletableFuture<AgentClient.Reply> next = fleet.agent().checkinAsync(a.id(), a.key(), checkinWithToken("doc-1"));
        awaitParked(fleet.daemon(), 1);
        assertThat(next).isNotDone();
        indexAction(fleet.daemon(), "doc-2", settingsAction("action-2", a.id()));
        AgentClient.Reply r = next.get(10, TimeUnit.SECONDS);
        assertThat(r.json().get("actions")).extracting(n -> n.get("id").asText()).containsExactly("action-2");
        assertThat(r.json().get("ack_token").asText()).isEqualTo("doc-2");
    }

    @Test
    void expiredUnexpiringAndNonDeliverableActionsAreNeverDelivered() throws Exception {
        Instant future = Instant.now().plus(Duration.ofHours(1));
        ObjectNode data = Json.object().put("log_level", "debug");
        indexAction(fleet.daemon(), "expired",
                action("a-expired", "SETTINGS", a.id(), Instant.now().minus(Duration.ofMinutes(1)), data));
        indexAction(fleet.daemon(), "no-expiration", action("a-no-expiration", "SETTINGS", a.id(), null, data));
        indexAction(fleet.daemon(), "policy-change", action("a-policy-change", "POLICY_CHANGE", a.id(), future, data));
        indexAction(fleet.daemon(), "update-tags", action("a-update-tags", "UPDATE_TAGS", a.id(), future, data));
        indexAction(fleet.daemon(), "marker-1", settingsAction("a-marker-1", a.id()));

        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        assertThat(r.json().get("actions")).extracting(n -> n.get("id").asText()).containsExactly("a-marker-1");
        assertThat(r.json().get("ack_token").asText()).isEqualTo("marker-1");

        // The same kinds arriving live, while parked: only the deliverable marker ever reaches the agent.
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(), checkinWithToken("marker-1"));
        awaitParked(fleet.daemon(), 1);
        indexAction(fleet.daemon(), "expired-2",
                action("b-expired", "SETTINGS", a.id(), Instant.now().minus(Duration.ofMinutes(1)), data));
        indexAction(fleet.daemon(), "no-expiration-2", action("b-no-expiration", "SETTINGS", a.id(), null, data));
        indexAction(fleet.daemon(), "policy-change-2", action("b-policy-change", "POLICY_CHANGE", a.id(), future, data));
        indexAction(fleet.daemon(), "update-tags-2", action("b-update-tags", "UPDATE_TAGS", a.id(), future, data));
        indexAction(fleet.daemon(), "marker-2", settingsAction("b-marker-2", a.id()));

        List<String> delivered = new ArrayList<>();
        AgentClient.Reply reply = parked.get(10, TimeUnit.SECONDS);
        // A wake-up by filtered actions may end the poll empty; keep polling as the agent would until the marker comes.
        for (int i = 0; i < 5; i++) {
            reply.json().path("actions").forEach(n -> delivered.add(n.get("id").asText()));
            if (!delivered.isEmpty()) {
                break;
            }
            reply = fleet.agent().checkin(a.id(), a.key(), checkinWithToken(reply.json().get("ack_token").asText()));
        }
        assertThat(delivered).containsExactly("b-marker-2");
    }

    @Test
    void unenrollIsDeliveredWithNullData() {
        indexAction(fleet.daemon(), "unenroll-doc",
                action("unenroll-1", "UNENROLL", a.id(), Instant.now().plus(Duration.ofHours(1)),
                Json.object().put("ignored", true)));
        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        JsonNode action = r.json().at("/actions/0");
        assertThat(action.get("type").asText()).isEqualTo("UNENROLL");
        assertThat(action.get("id").asText()).isEqualTo("unenroll-1");
        assertThat(action.has("data")).isTrue();
        assertThat(action.get("data").isNull()).isTrue();
    }

    @Test
    void anActionForAnotherAgentDoesNotWakeThisOne() throws Exception {
        Enrolled other = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);
        indexAction(fleet.daemon(), "for-other", settingsAction("other-action", other.id()));
        indexAction(fleet.daemon(), "for-me", settingsAction("my-action", a.id()));
        AgentClient.Reply r = parked.get(10, TimeUnit.SECONDS);
        assertThat(r.json().get("actions")).extracting(n -> n.get("id").asText()).containsExactly("my-action");
    }

    @Test
    void theAckTokenBecomesTheAgentsActionSeqNo() throws Exception {
        indexAction(fleet.daemon(), "doc-1", settingsAction("action-1", a.id()));
        long seq = fleet.daemon().store().get(dev.fleetserver.core.store.FleetIndex.ACTIONS, "doc-1")
                .get(5, TimeUnit.SECONDS).orElseThrow().seqNo();
        fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        fleet.agent().checkinAsync(a.id(), a.key(), checkinWithToken("doc-1"));
        awaitParked(fleet.daemon(), 1);
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        JsonNode stored = E2eSupport.agentDoc(fleet.daemon(), a.id()).get("action_seq_no");
        assertThat(stored).hasSize(1);
        assertThat(stored.get(0).asLong()).isEqualTo(seq);
    }

    @Test
    void anUnknownAckTokenResumesFromTheStoredPosition() throws Exception {
        indexAction(fleet.daemon(), "doc-1", settingsAction("action-1", a.id()));
        AgentClient.Reply first = fleet.agent().checkin(a.id(), a.key(), checkinWithToken("no-such-token"));
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.json().get("actions")).extracting(n -> n.get("id").asText()).containsExactly("action-1");

        // Deliver it properly, so the stored position moves past it.
        fleet.agent().checkinAsync(a.id(), a.key(), checkinWithToken("doc-1"));
        awaitParked(fleet.daemon(), 1);
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);

        CompletableFuture<AgentClient.Reply> next = fleet.agent().checkinAsync(a.id(), a.key(),
                checkinWithToken("still-unknown"));
        E2eSupport.await("the previous checkin superseded and this one parked",
                () -> fleet.daemon().core().checkin().registry().size() == 1 && !next.isDone());
        indexAction(fleet.daemon(), "doc-2", settingsAction("action-2", a.id()));
        assertThat(next.get(10, TimeUnit.SECONDS).json().get("actions")).extracting(n -> n.get("id").asText())
                .containsExactly("action-2");
    }

    @Test
    void atMostOneHundredActionsComeInOneAnswer() {
        long last = 0;
        for (int i = 1; i <= 101; i++) {
            last = indexAction(fleet.daemon(), String.format("doc-%03d", i), settingsAction(String.format("action-%03d", i), a.id()));
        }
        awaitActionsSeen(fleet.daemon(), last);
        AgentClient.Reply first = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        assertThat(first.json().get("actions")).hasSize(100);
        assertThat(first.json().at("/actions/0/id").asText()).isEqualTo("action-001");
        assertThat(first.json().get("ack_token").asText()).isEqualTo("doc-100");

        AgentClient.Reply rest = fleet.agent().checkin(a.id(), a.key(), checkinWithToken("doc-100"));
        assertThat(rest.json().get("actions")).extracting(n -> n.get("id").asText()).containsExactly("action-101");
        assertThat(rest.json().get("ack_token").asText()).isEqualTo("doc-101");
    }

    @Test
    void optionalActionFieldsAreSentOnlyWhenSetAndDataIsCutToTheTypesKeys() throws Exception {
        ObjectNode upgrade = action("upgrade-1", "UPGRADE", a.id(), Instant.now().plus(Duration.ofHours(1)),
                Json.MAPPER.readTree("{\"version\":\"9.6.1\",\"source_uri\":\"https://example.com\",\"extra\":1}"));
        upgrade.put("start_time", "2030-01-01T00:00:00Z");
        upgrade.put("timeout", 60);
        upgrade.put("traceparent", "00-abc-def-01");
        indexAction(fleet.daemon(), "upgrade-doc", upgrade);
        long last = indexAction(fleet.daemon(), "plain-doc",
                action("diag-1", "REQUEST_DIAGNOSTICS", a.id(), Instant.now().plus(Duration.ofHours(1)), null));
        awaitActionsSeen(fleet.daemon(), last);

        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        JsonNode up = r.json().at("/actions/0");
        assertThat(up.get("data")).isEqualTo(Json.MAPPER.readTree("{\"version\":\"9.6.1\",\"source_uri\":\"https://example.com\"}"));
        assertThat(up.get("start_time").asText()).isEqualTo("2030-01-01T00:00:00Z");
        assertThat(up.get("timeout").asLong()).isEqualTo(60);
        assertThat(up.get("traceparent").asText()).isEqualTo("00-abc-def-01");
        JsonNode diag = r.json().at("/actions/1");
        assertThat(diag.get("type").asText()).isEqualTo("REQUEST_DIAGNOSTICS");
        assertThat(diag.get("data").isNull()).isTrue();
        assertThat(diag.has("start_time")).isFalse();
        assertThat(diag.has("timeout")).isFalse();
        assertThat(diag.has("traceparent")).isFalse();
        assertThat(diag.has("signed")).isFalse();
    }
}
