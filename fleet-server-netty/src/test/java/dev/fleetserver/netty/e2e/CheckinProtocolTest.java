package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static dev.fleetserver.netty.e2e.E2eSupport.assertErrorKind;
import static dev.fleetserver.netty.e2e.E2eSupport.awaitParked;
import static dev.fleetserver.netty.e2e.E2eSupport.runningPolicy;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import dev.fleetserver.netty.e2e.E2eSupport.RawConnection;
import dev.fleetserver.netty.e2e.E2eSupport.RawResponse;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code POST /api/fleet/agents/{id}/checkin}: who may check in, body rules, compression and the long poll's edges. */
class CheckinProtocolTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded()
            .server(server -> server.with("timeouts").put("checkin_long_poll", "30s"));

    private String checkinPath(String id) {
        return "/api/fleet/agents/" + id + "/checkin";
    }

    /** A checkin with a raw (already encoded) body and the agent's headers, gzip-declared when {@code gzipped}. */
    private AgentClient.Reply checkinRaw(Enrolled a, byte[] body, boolean gzipped) {
        HttpRequest.Builder b = fleet.agent().request(checkinPath(a.id()))
                .header("Authorization", "ApiKey " + a.key())
                .POST(HttpRequest.BodyPublishers.ofByteArray(gzipped ? AgentClient.gzip(body) : body));
        if (gzipped) {
            b.header("Content-Encoding", "gzip");
        }
        return fleet.agent().send(b.build());
    }

    private AgentClient.Reply checkinRaw(Enrolled a, String body) {
        return checkinRaw(a, body.getBytes(StandardCharsets.UTF_8), true);
    }

    @Test
    void anotherAgentsKeyIsTheWrongIdentity() {
        Enrolled a = fleet.enroll();
        Enrolled b = fleet.enroll();
        assertError(fleet.agent().checkin(a.id(), b.key(), AgentClient.checkinBody("online")), 403, "ErrAgentIdentity",
                "Agent header contains wrong identifier");
    }

    @Test
    void anUnknownAgentIdInThePathIsTheWrongIdentity() {
        Enrolled a = fleet.enroll();
        assertError(fleet.agent().checkin("no-such-agent", a.key(), AgentClient.checkinBody("online")), 403, "ErrAgentIdentity",
                "Agent header contains wrong identifier");
    }

    @Test
    void theEnrollmentTokenCannotCheckIn() {
        Enrolled a = fleet.enroll();
        assertError(fleet.agent().checkin(a.id(), fleet.daemon().enrollmentToken(), AgentClient.checkinBody("online")),
                403, "ErrAgentIdentity", "Agent header contains wrong identifier");
    }

    @Test
    void anInactiveAgentIsRefusedWith401() {
        Enrolled a = fleet.enroll();
        E2eSupport.updateAgent(fleet.daemon(), a.id(), Json.object().put("active", false));
        assertError(fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("online")), 401, "ErrAgentInactive",
                "Agent inactive");
    }

    @Test
    void invalidJsonIsABadRequest() {
        Enrolled a = fleet.enroll();
        String message = assertErrorKind(checkinRaw(a, "{\"status\":"), 400, "BadRequest");
        assertThat(message).startsWith("Bad request: ");
    }

    @Test
    void aBodyWithoutStatusIsABadRequest() {
        Enrolled a = fleet.enroll();
        assertError(checkinRaw(a, "{\"message\":\"hi\"}"), 400, "BadRequest", "Bad request: checkin status missing");
    }

    @Test
    void anUnparsablePollTimeoutIsABadRequest() {
        Enrolled a = fleet.enroll();
        ObjectNode body = AgentClient.checkinBody("online");
        body.put("poll_timeout", "abc");
        String message = assertErrorKind(fleet.agent().checkin(a.id(), a.key(), body), 400, "BadRequest");
        assertThat(message).contains("poll_timeout cannot be parsed as duration");
    }

    @Test
    void aForeignUserAgentIsInvalid() {
        Enrolled a = fleet.enroll();
        HttpRequest req = fleet.agent().request(checkinPath(a.id()))
                .header("Authorization", "ApiKey " + a.key())
                .setHeader("User-Agent", "curl/8.0")
                .POST(HttpRequest.BodyPublishers.ofString(Json.string(AgentClient.checkinBody("online")))).build();
        assertError(fleet.agent().send(req), 400, "InvalidUserAgent", "user-agent is invalid");
    }

    @Test
    void anUncompressedBodyIsAcceptedToo() {
        Enrolled a = fleet.enroll();
        AgentClient.Reply r = checkinRaw(a, Json.bytes(AgentClient.checkinBody("starting")), false);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().at("/actions/0/type").asText()).isEqualTo("POLICY_CHANGE");
    }

    @Test
    void aBodyOverOneMebibyteIsABadRequestNotA413() throws Exception {
        Enrolled a = fleet.enroll();
        Map<String, String> headers = E2eSupport.agentHeaders("ApiKey " + a.key());
        headers.put("Content-Length", String.valueOf(1024 * 1024 + 1));
        try (RawConnection c = new RawConnection(fleet.port())) {
            // Only the head is sent: the declared length alone must be refused, before any body is read.
            RawResponse r = c.send("POST", checkinPath(a.id()) + "?", headers, null).read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.json().get("error").asText()).isEqualTo("BadRequest");
            assertThat(r.headers().get("content-type")).isEqualTo("application/json; charset=utf-8");
        }
    }

    @Test
    void aGzipBombIsABadRequestAndTheServerStaysHealthy() throws Exception {
        Enrolled a = fleet.enroll();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write("{\"status\":\"online\",\"message\":\"".getBytes(StandardCharsets.UTF_8));
            byte[] spaces = new byte[1024 * 1024];
            java.util.Arrays.fill(spaces, (byte) ' ');
            for (int i = 0; i < 21; i++) {
                gz.write(spaces);
            }
            gz.write("\"}".getBytes(StandardCharsets.UTF_8));
        }
        byte[] bomb = out.toByteArray();
        assertThat(bomb.length).isLessThan(1024 * 1024);

        AgentClient.Reply r = fleet.agent().send(fleet.agent().request(checkinPath(a.id()))
                .header("Authorization", "ApiKey " + a.key())
                .header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bomb)).build());
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("error").asText()).isEqualTo("BadRequest");

        assertThat(fleet.agent().status(null).status()).isEqualTo(200);
        AgentClient.Reply ok = fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("starting"));
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.json().at("/actions/0/type").asText()).isEqualTo("POLICY_CHANGE");
    }

    @Test
    void aLargePolicyChangeIsGzippedOnlyWhenTheAgentAsksForExactlyGzip() {
        // Makes revision 2 of the default policy well over the 1024-byte compression threshold.
        E2eSupport.managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                "{\"agent\":{\"download\":{\"sourceURI\":\"https://example.com/" + "x".repeat(3000) + "\"}}}");
        Enrolled a = fleet.enroll();

        AgentClient.Reply gz = fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("starting"));
        assertThat(gz.status()).isEqualTo(200);
        assertThat(gz.header("Content-Encoding")).isEqualTo("gzip");
        assertThat(gz.json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");

        for (String acceptEncoding : new String[] {"gzip, deflate", null}) {
            HttpRequest.Builder b = HttpRequest.newBuilder(java.net.URI.create(
                            "http://127.0.0.1:" + fleet.port() + checkinPath(a.id()) + "?"))
                    .header("Authorization", "ApiKey " + a.key())
                    .header("User-Agent", AgentClient.USER_AGENT)
                    .header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString(Json.string(AgentClient.checkinBody("starting"))));
            if (acceptEncoding != null) {
                b.header("Accept-Encoding", acceptEncoding);
            }
            AgentClient.Reply plain = fleet.agent().send(b.build());
            assertThat(plain.status()).as("Accept-Encoding: " + acceptEncoding).isEqualTo(200);
            assertThat(plain.header("Content-Encoding")).as("Accept-Encoding: " + acceptEncoding).isNull();
            assertThat(plain.json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");
            assertThat(plain.raw().length).isGreaterThan(1024);
        }
    }

    @Test
    void aClientThatDisconnectsWhileParkedLeavesNothingParked() throws Exception {
        Enrolled a = fleet.enrollUpToDate();
        try (RawConnection c = new RawConnection(fleet.port())) {
            byte[] body = Json.bytes(runningPolicy("default", 1));
            Map<String, String> headers = E2eSupport.agentHeaders("ApiKey " + a.key());
            headers.put("Content-Length", String.valueOf(body.length));
            c.send("POST", checkinPath(a.id()) + "?", headers, body);
            awaitParked(fleet.daemon(), 1);
        }
        awaitParked(fleet.daemon(), 0);
        // Still served normally afterwards.
        assertThat(fleet.agent().status(null).status()).isEqualTo(200);
    }

    @Test
    void aSecondCheckinOfTheSameAgentAnswersTheParkedOneEmpty() throws Exception {
        Enrolled a = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> first = fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);
        CompletableFuture<AgentClient.Reply> second = fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));

        AgentClient.Reply superseded = first.get(10, TimeUnit.SECONDS);
        assertThat(superseded.status()).isEqualTo(200);
        assertThat(superseded.json()).isEqualTo(Json.MAPPER.readTree("{\"ack_token\":\"\",\"action\":\"checkin\"}"));
        assertThat(superseded.header("Content-Encoding")).as("small answers are never gzipped").isNull();
        awaitParked(fleet.daemon(), 1);
        assertThat(second).isNotDone();

        E2eSupport.managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        assertThat(second.get(10, TimeUnit.SECONDS).json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");
        awaitParked(fleet.daemon(), 0);
    }

    @Test
    void reportingAnotherPolicyGetsTheAgentsPolicyAtOnce() {
        Enrolled a = fleet.enrollUpToDate();
        long start = System.nanoTime();
        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), runningPolicy("some-other-policy", 1));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(r.status()).isEqualTo(200);
        JsonNode action = r.json().at("/actions/0");
        assertThat(action.get("type").asText()).isEqualTo("POLICY_CHANGE");
        assertThat(action.get("id").asText()).isEqualTo("policy:default:1");
    }

    @Test
    void reportingARevisionThatDoesNotExistYetGetsTheLatest() {
        Enrolled a = fleet.enrollUpToDate();
        E2eSupport.managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                "{\"agent\":{\"logging\":{\"level\":\"info\"}}}");
        // "The latest" is the latest this server has seen; its policy feed follows the store a moment behind the PUT.
        E2eSupport.await("the server knows revision 2", () -> fleet.daemon().core().policies().latestOrLoad("default").join()
                .map(p -> p.revision()).orElse(0L) == 2);
        long start = System.nanoTime();
        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 99));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(r.json().at("/actions/0/type").asText()).isEqualTo("POLICY_CHANGE");
        assertThat(r.json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");
    }

    @Test
    void anEmptyStatusCountsAsMissing() {
        Enrolled a = fleet.enroll();
        assertError(checkinRaw(a, "{\"status\":\"\"}"), 400, "BadRequest", "Bad request: checkin status missing");
    }

    @Test
    void aBodyDeclaredGzipThatIsNotGzipIsABadRequest() {
        Enrolled a = fleet.enroll();
        AgentClient.Reply r = fleet.agent().send(fleet.agent().request(checkinPath(a.id()))
                .header("Authorization", "ApiKey " + a.key())
                .header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(AgentClient.checkinBody("online")))).build());
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("error").asText()).isEqualTo("BadRequest");
        assertThat(fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("starting")).status()).isEqualTo(200);
    }

    @Test
    void aParkedCheckinOutlivesTheIdleTimeout() throws Exception {
        fleet.restart(server -> server.with("timeouts").put("idle", "300ms").put("checkin_long_poll", "1500ms"));
        Enrolled a = fleet.enrollUpToDate();
        long start = System.nanoTime();
        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), runningPolicy("default", 1));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(1400));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"ack_token\":\"\",\"action\":\"checkin\"}"));
    }

    @Test
    void reportingTheCurrentPolicyParksAndIsRecorded() throws Exception {
        Enrolled a = fleet.enrollUpToDate();
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);
        assertThat(parked).isNotDone();
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        JsonNode doc = E2eSupport.agentDoc(fleet.daemon(), a.id());
        assertThat(doc.get("agent_policy_id").asText()).isEqualTo("default");
        assertThat(doc.get("policy_revision_idx").asLong()).isEqualTo(1);
        assertThat(doc.get("last_checkin_status").asText()).isEqualTo("online");
    }

    @Test
    void aNewerAgentVersionInTheUserAgentIsRecorded() throws Exception {
        Enrolled a = fleet.enroll();
        AgentClient.Reply r = fleet.agent().send(fleet.agent().request(checkinPath(a.id()))
                .header("Authorization", "ApiKey " + a.key())
                .setHeader("User-Agent", "Elastic Agent v9.6.3")
                .POST(HttpRequest.BodyPublishers.ofString(Json.string(AgentClient.checkinBody("starting")))).build());
        assertThat(r.status()).isEqualTo(200);
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        assertThat(E2eSupport.agentDoc(fleet.daemon(), a.id()).at("/agent/version").asText()).isEqualTo("9.6.3");
    }

    @Test
    void aNonIntegerRevisionIsABadRequest() {
        Enrolled a = fleet.enroll();
        assertErrorKind(checkinRaw(a, "{\"status\":\"online\",\"agent_policy_id\":\"default\",\"policy_revision_idx\":\"1\"}"),
                400, "BadRequest");
    }

    @Test
    void aParkedAgentsLastCheckinKeepsBeingRefreshed() throws Exception {
        fleet.restart(server -> server.with("timeouts").put("checkin_long_poll", "30s")
                .put("checkin_timestamp", "100ms"));
        Enrolled a = fleet.enrollUpToDate();
        fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        String first = E2eSupport.agentDoc(fleet.daemon(), a.id()).get("last_checkin").asText();
        E2eSupport.await("last_checkin refreshed while parked", () -> {
            fleet.daemon().core().checkin().flushPending().join();
            return java.time.Instant.parse(E2eSupport.agentDoc(fleet.daemon(), a.id()).get("last_checkin").asText())
                    .isAfter(java.time.Instant.parse(first));
        });
        assertThat(E2eSupport.agentDoc(fleet.daemon(), a.id()).get("last_checkin_status").asText()).isEqualTo("online");
    }

    @Test
    void anAgentIdInThePathThatCannotBeADocumentIdIsABadRequestOnCheckinAndAcks() {
        Enrolled a = fleet.enroll();
        String tooLong = "a".repeat(600);
        assertError(fleet.agent().checkin(tooLong, a.key(), AgentClient.checkinBody("online")), 400, "BadRequest",
                "Bad request: agent id in the path must be at most 512 bytes");
        assertError(fleet.agent().acks(tooLong, a.key(), AgentClient.ackEvents(tooLong, "policy:default:1")), 400, "BadRequest",
                "Bad request: agent id in the path must be at most 512 bytes");
        assertError(fleet.agent().checkin("agent%0Aone", a.key(), AgentClient.checkinBody("online")), 400, "BadRequest",
                "Bad request: agent id in the path must not contain control characters");
        // Without a valid key the id is not even looked at.
        assertThat(fleet.agent().checkin(tooLong, "bm8tc3VjaDprZXk=", AgentClient.checkinBody("online")).status()).isEqualTo(401);
    }

    @Test
    void localMetadataOrComponentsOfTheWrongShapeAreBadRequestsNamingTheField() {
        Enrolled a = fleet.enroll();
        for (String wrong : new String[] {"[]", "\"host\"", "1", "true"}) {
            assertError(checkinRaw(a, "{\"status\":\"online\",\"local_metadata\":" + wrong + "}"), 400, "BadRequest",
                    "Bad request: unable to decode checkin request: local_metadata must be an object");
        }
        for (String wrong : new String[] {"{}", "\"x\"", "2"}) {
            assertError(checkinRaw(a, "{\"status\":\"online\",\"components\":" + wrong + "}"), 400, "BadRequest",
                    "Bad request: unable to decode checkin request: components must be an array");
        }
        // What the agent sends when it has nothing to report is fine.
        assertThat(checkinRaw(a, "{\"status\":\"online\",\"local_metadata\":null,\"components\":null}").status())
                .isEqualTo(200);
    }

    @Test
    void anAckTokenThatCannotBeADocumentIdIsABadRequest() {
        Enrolled a = fleet.enroll();
        ObjectNode body = AgentClient.checkinBody("online");
        body.put("ack_token", "t".repeat(513));
        assertError(fleet.agent().checkin(a.id(), a.key(), body), 400, "BadRequest",
                "Bad request: ack_token must be at most 512 bytes");
    }

    @Test
    void aNewAgentIsOnlineRightAfterItsFirstCheckinNotAfterTheFlushInterval() throws Exception {
        Enrolled a = fleet.enroll();
        assertThat(E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id(), null)
                .at("/item/status").asText()).isEqualTo("enrolling");

        // Parks (it reports the latest revision): nothing but the first checkin itself can have written its status.
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);

        JsonNode listed = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents", null);
        assertThat(listed.at("/items/0/id").asText()).isEqualTo(a.id());
        assertThat(listed.at("/items/0/status").asText()).isEqualTo("online");
        assertThat(fleet.daemon().core().checkin().registry().size()).isEqualTo(1);
        assertThat(parked).isNotDone();
    }

    @Test
    void anAckedRevisionIsNotRolledBackByTheStatusFlushOfAnEarlierCheckin() throws Exception {
        Enrolled a = fleet.enroll();
        // First checkin, from an agent that does not report its policy yet: it is sent revision 1.
        assertThat(fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("starting")).json()
                .at("/actions/0/id").asText()).isEqualTo("policy:default:1");
        // It runs revision 1 and parks; its report (revision 1) waits for the flush.
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);

        E2eSupport.managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        assertThat(parked.get(10, TimeUnit.SECONDS).json().at("/actions/0/id").asText()).isEqualTo("policy:default:2");
        assertThat(fleet.agent().acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:2")).status())
                .isEqualTo(200);
        assertThat(E2eSupport.agentDoc(fleet.daemon(), a.id()).get("policy_revision_idx").asLong()).isEqualTo(2);

        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);

        JsonNode doc = E2eSupport.agentDoc(fleet.daemon(), a.id());
        assertThat(doc.get("policy_revision_idx").asLong()).isEqualTo(2);
        assertThat(doc.get("agent_policy_id").asText()).isEqualTo("default");
        assertThat(doc.get("last_checkin_status").asText()).as("the rest of the stale report is written").isEqualTo("online");
    }

    @Test
    void upgradeDetailsOfAKnownUpgradeActionAreRecorded() throws Exception {
        Enrolled a = fleet.enrollUpToDate();
        E2eSupport.indexAction(fleet.daemon(), "upgrade-doc", E2eSupport.action("upgrade-1", "UPGRADE", a.id(),
                Instant.now().plusSeconds(3600), Json.object().put("version", "9.6.1")));
        ObjectNode body = runningPolicy("default", 1);
        JsonNode details = Json.MAPPER.readTree("{\"action_id\":\"upgrade-1\",\"state\":\"UPG_DOWNLOADING\","
                + "\"target_version\":\"9.6.1\",\"metadata\":{\"download_percent\":10}}");
        body.set("upgrade_details", details);
        body.put("ack_token", "upgrade-doc");
        CompletableFuture<AgentClient.Reply> parked = fleet.agent().checkinAsync(a.id(), a.key(), body);
        awaitParked(fleet.daemon(), 1);
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        assertThat(E2eSupport.agentDoc(fleet.daemon(), a.id()).get("upgrade_details")).isEqualTo(details);

        ObjectNode done = runningPolicy("default", 1);
        done.put("ack_token", "upgrade-doc");
        fleet.agent().checkinAsync(a.id(), a.key(), done);
        assertThat(parked.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
        awaitParked(fleet.daemon(), 1);
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        JsonNode doc = E2eSupport.agentDoc(fleet.daemon(), a.id());
        assertThat(doc.get("upgrade_details").isNull()).isTrue();
        assertThat(java.time.OffsetDateTime.parse(doc.get("upgraded_at").asText())).isNotNull();
    }
}
