package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static dev.fleetserver.netty.e2e.E2eSupport.assertErrorKind;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.RawConnection;
import dev.fleetserver.netty.e2e.E2eSupport.RawResponse;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** HTTP-level details of the agent listener: request ids, API versions, routing, status and pipelining. */
class WireDetailsTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    /** A bare request: no agent headers at all. */
    private HttpRequest.Builder bare(String target) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.port() + target)).timeout(Duration.ofSeconds(30));
    }

    private AgentClient.Reply statusWithApiVersion(String version) {
        return fleet.agent().send(fleet.agent().request("/api/status").setHeader("Elastic-Api-Version", version).GET().build());
    }

    @Test
    void theRequestIdIsEchoedWhenSentAndGeneratedOtherwise() {
        AgentClient.Reply echoed = fleet.agent().send(fleet.agent().request("/api/status")
                .setHeader("X-Request-ID", "my-request-42").GET().build());
        assertThat(echoed.header("X-Request-Id")).isEqualTo("my-request-42");

        AgentClient.Reply generated = fleet.agent().send(bare("/api/status").GET().build());
        assertThat(generated.header("X-Request-Id")).isNotBlank();
        assertThat(UUID.fromString(generated.header("X-Request-Id")).version()).isEqualTo(4);

        // Error answers carry it too.
        AgentClient.Reply error = fleet.agent().send(fleet.agent().request("/api/fleet/agents/enroll")
                .setHeader("X-Request-ID", "err-1")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(error.status()).isEqualTo(401);
        assertThat(error.header("X-Request-Id")).isEqualTo("err-1");
    }

    @Test
    void withoutAnApiVersionTheAnswerNamesTheDefault() {
        AgentClient.Reply r = fleet.agent().send(bare("/api/status").GET().build());
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Elastic-Api-Version")).isEqualTo("2023-06-01");
        assertThat(statusWithApiVersion("2023-06-01").header("Elastic-Api-Version")).isEqualTo("2023-06-01");
    }

    @Test
    void aBadlyFormattedApiVersionIsRefused() {
        AgentClient.Reply r = statusWithApiVersion("2023-6-1");
        assertError(r, 400, "ErrInvalidAPIVersionFormat",
                "received \"2023-6-1\", expected a valid date string formatted as YYYY-MM-DD. invalid version format");
        assertThat(r.header("Elastic-Api-Version")).isEqualTo("2023-06-01");
    }

    @Test
    void anUnsupportedApiVersionIsRefusedNamingTheSupportedOnes() {
        AgentClient.Reply r = statusWithApiVersion("2030-01-01");
        assertThat(assertErrorKind(r, 400, "ErrUnsupportedAPIVersion")).contains("[2023-06-01]").contains("2030-01-01");
        assertThat(r.header("Elastic-Api-Version")).isEqualTo("2023-06-01");
    }

    @Test
    void anUnknownPathIs404AndAKnownPathWithTheWrongMethodIs405() {
        assertThat(fleet.agent().send(fleet.agent().request("/api/fleet/nothing-here").GET().build()).status()).isEqualTo(404);
        assertThat(fleet.agent().send(fleet.agent().request("/api/fleet/agents/x/unknown")
                .POST(HttpRequest.BodyPublishers.noBody()).build()).status()).isEqualTo(404);
        assertThat(fleet.agent().send(fleet.agent().request("/api/fleet/agents/enroll").GET().build()).status()).isEqualTo(405);
        assertThat(fleet.agent().send(fleet.agent().request("/api/fleet/agents/enroll")
                .PUT(HttpRequest.BodyPublishers.noBody()).build()).status()).isEqualTo(405);
    }

    @Test
    void statusWithoutAKeyIsExactlyNameAndStatus() throws Exception {
        AgentClient.Reply r = fleet.agent().status(null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"name\":\"fleet-server\",\"status\":\"HEALTHY\"}"));
    }

    @Test
    void statusWithAValidKeyAddsTheVersionAndABogusKeyIsStillTheShort200() throws Exception {
        E2eSupport.Enrolled a = fleet.enroll();
        AgentClient.Reply withKey = fleet.agent().status("ApiKey " + a.key());
        assertThat(withKey.status()).isEqualTo(200);
        assertThat(withKey.json().get("status").asText()).isEqualTo("HEALTHY");
        assertThat(withKey.json().at("/version/number").asText()).isEqualTo("9.6.0");

        String shortForm = "{\"name\":\"fleet-server\",\"status\":\"HEALTHY\"}";
        for (String bogus : new String[] {E2eSupport.apiKeyHeader("nope", "nope"), "ApiKey !!!", "Bearer x"}) {
            AgentClient.Reply r = fleet.agent().status(bogus);
            assertThat(r.status()).as(bogus).isEqualTo(200);
            assertThat(r.json()).as(bogus).isEqualTo(Json.MAPPER.readTree(shortForm));
        }
    }

    @Test
    void pipelinedRequestsOnOneConnectionAreAnsweredInOrder() throws Exception {
        byte[] enrollBody = Json.bytes(AgentClient.enrollBody());
        Map<String, String> enrollHeaders = E2eSupport.agentHeaders("ApiKey " + fleet.daemon().enrollmentToken());
        enrollHeaders.put("X-Request-Id", "first");
        enrollHeaders.put("Content-Length", String.valueOf(enrollBody.length));
        Map<String, String> statusHeaders = E2eSupport.agentHeaders(null);
        statusHeaders.put("X-Request-Id", "second");
        Map<String, String> thirdHeaders = E2eSupport.agentHeaders(null);
        thirdHeaders.put("X-Request-Id", "third");

        ByteArrayOutputStream all = new ByteArrayOutputStream();
        // The slow request first: the quick ones behind it must not overtake it.
        all.writeBytes(RawConnection.request("POST", "/api/fleet/agents/enroll?", enrollHeaders, enrollBody));
        all.writeBytes(RawConnection.request("GET", "/api/status?", statusHeaders, null));
        all.writeBytes(RawConnection.request("GET", "/api/nothing", thirdHeaders, null));
        try (RawConnection c = new RawConnection(fleet.port())) {
            c.sendBytes(all.toByteArray());
            RawResponse first = c.read();
            RawResponse second = c.read();
            RawResponse third = c.read();
            assertThat(first.headers().get("x-request-id")).isEqualTo("first");
            assertThat(first.status()).as(first.text()).isEqualTo(200);
            assertThat(first.json().get("action").asText()).isEqualTo("created");
            assertThat(second.headers().get("x-request-id")).isEqualTo("second");
            assertThat(second.status()).isEqualTo(200);
            assertThat(second.json().get("name").asText()).isEqualTo("fleet-server");
            assertThat(third.headers().get("x-request-id")).isEqualTo("third");
            assertThat(third.status()).isEqualTo(404);
        }
    }

    @Test
    void aTargetEndingInAQuestionMarkOrASlashIsTheSamePath() {
        assertThat(fleet.agent().send(bare("/api/status?").GET().build()).status()).isEqualTo(200);
        assertThat(fleet.agent().send(bare("/api/status/").GET().build()).status()).isEqualTo(200);
        assertThat(fleet.agent().send(bare("/api/status/?").GET().build()).status()).isEqualTo(200);
        AgentClient.Reply enroll = fleet.agent().send(fleet.agent().request("/api/fleet/agents/enroll/")
                .header("Authorization", "ApiKey " + fleet.daemon().enrollmentToken())
                .POST(HttpRequest.BodyPublishers.ofString(Json.string(AgentClient.enrollBody()))).build());
        assertThat(enroll.status()).as(enroll.body()).isEqualTo(200);
    }

    @Test
    void aMalformedRequestLineIsABadRequestAndTheServerCarriesOn() throws Exception {
        try (RawConnection c = new RawConnection(fleet.port())) {
            c.sendBytes("THIS IS NOT HTTP\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            RawResponse r = c.read();
            assertThat(r.status()).isEqualTo(400);
        }
        assertThat(fleet.agent().status(null).status()).isEqualTo(200);
    }

    @Test
    void statusIs503WithTheSameShapeWhenNotHealthy() throws Exception {
        fleet.daemon().core().status().state(dev.fleetserver.core.StatusService.State.DEGRADED);
        AgentClient.Reply r = fleet.agent().status(null);
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"name\":\"fleet-server\",\"status\":\"DEGRADED\"}"));
        fleet.daemon().core().status().state(dev.fleetserver.core.StatusService.State.HEALTHY);
        assertThat(fleet.agent().status(null).status()).isEqualTo(200);
    }

    @Test
    void theCheckinAndAckPathsTakeOnlyPost() {
        assertThat(fleet.agent().send(fleet.agent().request("/api/fleet/agents/x/checkin").GET().build()).status())
                .isEqualTo(405);
        assertThat(fleet.agent().send(fleet.agent().request("/api/fleet/agents/x/acks")
                .PUT(HttpRequest.BodyPublishers.noBody()).build()).status()).isEqualTo(405);
        assertThat(fleet.agent().send(fleet.agent().request("/api/status")
                .POST(HttpRequest.BodyPublishers.noBody()).build()).status()).isEqualTo(405);
    }

    @Test
    void aConnectionIdleBetweenRequestsIsClosedAfterTheIdleTimeout() throws Exception {
        fleet.restart(server -> server.with("timeouts").put("idle", "500ms"));
        try (RawConnection c = new RawConnection(fleet.port())) {
            RawResponse r = c.send("GET", "/api/status?", E2eSupport.agentHeaders(null), null).read();
            assertThat(r.status()).isEqualTo(200);
            long start = System.nanoTime();
            assertThat(c.awaitServerClose(Duration.ofSeconds(5))).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(400));
        }
    }

    @Test
    void aClientThatNeverFinishesItsHeadersIsDisconnectedAfterTheReadHeaderTimeout() throws Exception {
        fleet.restart(server -> server.with("timeouts").put("read_header", "1s").put("idle", "30s"));
        try (RawConnection c = new RawConnection(fleet.port())) {
            c.sendBytes("POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Elastic"
                    .getBytes(StandardCharsets.ISO_8859_1));
            c.awaitServerClose(Duration.ofSeconds(5));
        }
    }

    @Test
    void aRequestWhoseBodyNeverArrivesIsEndedAfterTheReadTimeout() throws Exception {
        fleet.restart(server -> server.with("timeouts").put("read", "1s").put("idle", "30s"));
        java.util.Map<String, String> h = E2eSupport.agentHeaders("ApiKey " + fleet.daemon().enrollmentToken());
        h.put("Content-Length", "100");
        try (RawConnection c = new RawConnection(fleet.port())) {
            c.send("POST", "/api/fleet/agents/enroll?", h, "{\"type\":".getBytes(StandardCharsets.UTF_8));
            c.awaitServerClose(Duration.ofSeconds(5));
        }
    }
}
