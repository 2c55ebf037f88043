package dev.fleetserver.netty.pipeline;

import static dev.fleetserver.netty.pipeline.FrontEnd.body;
import static dev.fleetserver.netty.pipeline.FrontEnd.checkin;
import static dev.fleetserver.netty.pipeline.FrontEnd.get;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.config.RouteLimitConfig;
import dev.fleetserver.netty.config.ServerConfig;
import dev.fleetserver.netty.pipeline.FrontEnd.Connection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Admission control on the real pipeline: route buckets and caps, the listener's caps, 429s with Retry-After. */
class AdmissionPipelineTest {

    private static com.fasterxml.jackson.databind.JsonNode json(FullHttpResponse r) {
        try {
            return Json.MAPPER.readTree(body(r));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void assert429(FullHttpResponse r, String error, String message, int maxRetryAfter) {
        assertThat(r.status().code()).isEqualTo(429);
        assertThat(json(r)).isEqualTo(Json.object().put("statusCode", 429).put("error", error).put("message", message));
        assertThat(r.headers().get("Content-Type")).isEqualTo("application/json; charset=utf-8");
        assertThat(r.headers().get("X-Content-Type-Options")).isEqualTo("nosniff");
        assertThat(r.headers().getInt("Retry-After")).isBetween(1, maxRetryAfter);
    }

    @Test
    void aRouteBeyondItsBurstIs429RateLimitWithTheWaitForTheNextToken() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("status", new RouteLimitConfig(Duration.ofSeconds(30), 2, 0, 0, 0))));
        Connection c = fe.connect();
        c.send(get("/api/status?")).send(get("/api/status?")).send(get("/api/status?"));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(3);
        assertThat(r.get(0).status()).isEqualTo(HttpResponseStatus.OK);
        assertThat(r.get(1).status()).isEqualTo(HttpResponseStatus.OK);
        assert429(r.get(2), "RateLimit", "exceeded the rate limit", 30);
        // The connection stays usable: a 429 is an answer, not a reason to hang up.
        assertThat(c.open()).isTrue();
    }

    @Test
    void aParkedCheckinHoldsItsSlotOfTheRoutesMaxUntilItIsAnswered() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("checkin", new RouteLimitConfig(null, 0, 1, 0, 0))));
        Connection first = fe.connect();
        first.send(checkin("a"));
        assertThat(fe.parked).hasSize(1);

        Connection second = fe.connect();
        second.send(checkin("b"));
        List<FullHttpResponse> refused = second.responses();
        assertThat(refused).hasSize(1);
        assert429(refused.get(0), "MaxLimit", "exceeded the max limit", 5);
        assertThat(fe.parked).hasSize(1);

        fe.parked.get(0).respond(HttpResponseStatus.OK, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        second.send(checkin("b"));
        assertThat(second.responses()).isEmpty();
        assertThat(fe.parked).hasSize(2);
    }

    @Test
    void aClientLeavingItsParkedCheckinFreesItsSlot() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("checkin", new RouteLimitConfig(null, 0, 1, 0, 0))));
        Connection first = fe.connect();
        first.send(checkin("a"));
        first.server.close();

        Connection second = fe.connect();
        second.send(checkin("b"));
        assertThat(second.responses()).isEmpty();
        assertThat(fe.parked).hasSize(2);
    }

    @Test
    void requestsBeyondMaxConnectionsInFlightAre429PlainTextWithRetryAfter() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(10, Map.of()));
        for (int i = 0; i < 10; i++) {
            fe.connect().send(checkin("a" + i));
        }
        Connection c = fe.connect();
        c.send(get("/api/status?"));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(429);
        assertThat(body(r.get(0))).isEqualTo("Server capacity exceeded.\n");
        assertThat(r.get(0).headers().get("Content-Type")).isEqualTo("text/plain; charset=utf-8");
        assertThat(r.get(0).headers().getInt("Retry-After")).isBetween(1, 5);
    }

    @Test
    void connectionsBeyondElevenTenthsOfMaxConnectionsAreClosedAtOnce() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(10, Map.of()));
        for (int i = 0; i < 11; i++) {
            assertThat(fe.connect().open()).isTrue();
        }
        Connection refused = fe.connect();
        assertThat(refused.open()).isFalse();
        // Nothing was set up on it: no TLS, no HTTP codec.
        assertThat(refused.server.pipeline().get(PipelineNames.HTTP_CODEC)).isNull();
        assertThat(fe.initializer.connectionLimit().open()).isEqualTo(11);
        assertThat(fe.initializer.connectionLimit().refused()).isEqualTo(1);
    }

    @Test
    void theBodyOfARefusedRequestIsDroppedAndTheConnectionServesTheNextOne() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("enroll", new RouteLimitConfig(Duration.ofMinutes(1), 1, 0, 0, 0))));
        Connection c = fe.connect();
        byte[] body = "{\"type\":\"PERMANENT\"}".getBytes(StandardCharsets.UTF_8);
        c.send(FrontEnd.request("POST", "/api/fleet/agents/enroll?", Map.of(), body));
        c.send(FrontEnd.request("POST", "/api/fleet/agents/enroll?", Map.of(), body));
        c.send(get("/api/status?"));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(3);
        assertThat(body(r.get(0))).isEqualTo(String.valueOf(body.length));
        assert429(r.get(1), "RateLimit", "exceeded the rate limit", 60);
        assertThat(r.get(2).status()).isEqualTo(HttpResponseStatus.OK);
    }

    @Test
    void aRefusedRequestWithALargeBodyClosesTheConnectionInsteadOfReadingIt() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("enroll", new RouteLimitConfig(Duration.ofMinutes(1), 1, 0, 0, 0))));
        fe.connect().send(FrontEnd.request("POST", "/api/fleet/agents/enroll?", Map.of(), new byte[10]));
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nContent-Length: 400000\r\n\r\n");
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(429);
        assertThat(r.get(0).headers().get("Connection")).isEqualTo("close");
        assertThat(c.open()).isFalse();
    }

    @Test
    void theManagementListenerHasNoAdmissionControl() {
        FleetChannelInitializer management = new FleetChannelInitializer(new dev.fleetserver.netty.http.Routes(),
                ListenerSettings.management(ServerConfig.defaults()));
        assertThat(management.admission()).isNull();
    }
}
