package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.awaitParked;
import static dev.fleetserver.netty.e2e.E2eSupport.runningPolicy;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Admission control of protocol section 1.0: the in-flight request cap and the per-route limiter. */
class LimitsProtocolTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();

    private void start(Consumer<ObjectNode> limits) throws Exception {
        fleet.start(server -> {
            server.with("timeouts").put("checkin_long_poll", "30s");
            limits.accept(server.with("limits"));
        });
    }

    /**
     * Ten parked checkins fill {@code max_connections: 10}; an eleventh request, on an eleventh connection (the TCP
     * cap is {@code int(10 * 1.1) = 11}, so it is accepted), is refused. With fewer than ten the TCP cap would close
     * that connection first: {@code int(2 * 1.1) = 2}.
     */
    @Test
    void requestsBeyondMaxConnectionsInFlightAre429() throws Exception {
        start(limits -> limits.put("max_connections", 10));
        for (int i = 0; i < 10; i++) {
            Enrolled a = fleet.enrollUpToDate();
            fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        }
        awaitParked(fleet.daemon(), 10);

        AgentClient.Reply r = fleet.agent().status(null);
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.body().trim()).isEqualTo("Server capacity exceeded.");
        assertThat(r.header("Content-Type")).isEqualTo("text/plain; charset=utf-8");
        assertRetryAfterBetween(r, 1, 5);

        // Eleven connections are open (ten parked, the one refused above): a twelfth is closed unanswered.
        try (E2eSupport.RawConnection c = new E2eSupport.RawConnection(fleet.port())) {
            assertThat(c.awaitServerClose(java.time.Duration.ofSeconds(10))).isEmpty();
        }
        assertThat(fleet.daemon().server().connectionLimit().refused()).isEqualTo(1);
    }

    @Test
    void checkinsBeyondTheRoutesMaxAre429MaxLimit() throws Exception {
        start(limits -> limits.putObject("checkin_limit").put("max", 1));
        Enrolled a = fleet.enrollUpToDate();
        Enrolled b = fleet.enrollUpToDate();
        fleet.agent().checkinAsync(a.id(), a.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);

        AgentClient.Reply r = fleet.agent().checkinAsync(b.id(), b.key(), runningPolicy("default", 1))
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.json()).isEqualTo(Json.object().put("statusCode", 429).put("error", "MaxLimit")
                .put("message", "exceeded the max limit"));
        assertRetryAfterBetween(r, 1, 5);
    }

    @Test
    void enrollsBeyondTheRoutesRateAre429RateLimit() throws Exception {
        start(limits -> limits.putObject("enroll_limit").put("interval", "1m").put("burst", 1));
        assertThat(fleet.agent().enroll(fleet.daemon().enrollmentToken(), AgentClient.enrollBody()).status()).isEqualTo(200);
        AgentClient.Reply r = fleet.agent().enroll(fleet.daemon().enrollmentToken(), AgentClient.enrollBody());
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.json()).isEqualTo(Json.object().put("statusCode", 429).put("error", "RateLimit")
                .put("message", "exceeded the rate limit"));
        // The next token is a minute away at most.
        assertRetryAfterBetween(r, 1, 60);
    }

    @Test
    void aConfiguredCheckinBodyLimitIsApplied() throws Exception {
        start(limits -> limits.putObject("checkin_limit").put("max_body_byte_size", 1024));
        Enrolled a = fleet.enroll();
        ObjectNode body = AgentClient.checkinBody("online");
        body.put("message", "x".repeat(4096));
        AgentClient.Reply r = fleet.agent().send(fleet.agent().request("/api/fleet/agents/" + a.id() + "/checkin")
                .header("Authorization", "ApiKey " + a.key())
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(Json.string(body))).build());
        assertThat(r.status()).isEqualTo(400);
    }

    private static void assertRetryAfterBetween(AgentClient.Reply r, int min, int max) {
        assertThat(r.header("Retry-After")).as("Retry-After").isNotNull();
        assertThat(Integer.parseInt(r.header("Retry-After"))).isBetween(min, max);
    }
}
