package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.agentDoc;
import static dev.fleetserver.netty.e2e.E2eSupport.assertErrorKind;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import dev.fleetserver.netty.e2e.E2eSupport.RawConnection;
import dev.fleetserver.netty.e2e.E2eSupport.RawResponse;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Details of the wire found to differ from the original side by side, answered as the original answers them. */
class OriginalWireParityTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    @Test
    void aCheckinWithNothingNewAnswersAnEmptyAckTokenNotTheOneItSent() throws Exception {
        Enrolled a = fleet.enrollUpToDate();
        ObjectNode body = E2eSupport.runningPolicy("default", 1);
        body.put("ack_token", "token-the-agent-holds");

        AgentClient.Reply r = fleet.agent().checkin(a.id(), a.key(), body);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"ack_token\":\"\",\"action\":\"checkin\"}"));
    }

    @Test
    void aPolicyWithoutInputsIsSentWithoutAnInputsMember() throws Exception {
        Enrolled a = fleet.enroll();

        JsonNode policy = fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("starting")).json()
                .at("/actions/0/data/policy");

        assertThat(policy.get("id").asText()).isEqualTo("default");
        assertThat(policy.has("inputs")).as(policy.toString()).isFalse();
        assertThat(policy.has("outputs")).isTrue();

        E2eSupport.managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                "{\"inputs\":[{\"id\":\"logs-1\",\"type\":\"logfile\"}]}");
        JsonNode next = fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).json()
                .at("/actions/0/data/policy");
        assertThat(next.at("/inputs/0/id").asText()).isEqualTo("logs-1");
    }

    @Test
    void enrollAnswersAndStoresTheTypeAsked() {
        ObjectNode body = AgentClient.enrollBody().put("type", "EPHEMERAL");

        AgentClient.Reply r = fleet.agent().enroll(fleet.daemon().enrollmentToken(), body);

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().at("/item/type").asText()).isEqualTo("EPHEMERAL");
        assertThat(agentDoc(fleet.daemon(), r.json().at("/item/id").asText()).get("type").asText()).isEqualTo("EPHEMERAL");
    }

    /** Header names of an answer that are not about its own body or connection. */
    private static Set<String> standardHeaders(Map<String, String> headers) {
        Set<String> names = new TreeSet<>();
        headers.keySet().forEach(h -> names.add(h.toLowerCase(java.util.Locale.ROOT)));
        names.removeAll(Set.of("content-length", "connection", "content-encoding", "retry-after"));
        return names;
    }

    private static Map<String, String> headers(AgentClient.Reply r) {
        Map<String, String> out = new java.util.HashMap<>();
        r.headers().forEach((k, v) -> {
            if (!k.startsWith(":")) {
                out.put(k, v.get(0));
            }
        });
        return out;
    }

    @Test
    void badRequestsAnsweredBeforeTheRouteRunsCarryTheHeadersOfEveryOtherAnswer() throws Exception {
        Enrolled a = fleet.enroll();
        // An ordinary error answer from a route, for comparison.
        AgentClient.Reply unauthorized = fleet.agent().send(fleet.agent().request("/api/fleet/agents/enroll")
                .setHeader("X-Request-ID", "ordinary").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(unauthorized.status()).isEqualTo(401);
        Set<String> expected = standardHeaders(headers(unauthorized));
        assertThat(expected).contains("content-type", "x-content-type-options", "x-request-id", "elastic-api-version");

        // A declared body over the route's limit: refused at the head.
        Map<String, String> h = E2eSupport.agentHeaders("ApiKey " + a.key());
        h.put("X-Request-Id", "too-large");
        h.put("Content-Length", String.valueOf(3 * 1024 * 1024));
        try (RawConnection c = new RawConnection(fleet.port())) {
            RawResponse r = c.send("POST", "/api/fleet/agents/" + a.id() + "/acks?", h, new byte[0]).read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.json().get("message").asText()).isEqualTo("Bad request: http: request body too large");
            assertThat(standardHeaders(r.headers())).isEqualTo(expected);
            assertThat(r.headers().get("x-request-id")).isEqualTo("too-large");
            assertThat(r.headers().get("elastic-api-version")).isEqualTo("2023-06-01");
        }

        // A body that is not gzip although it says so.
        AgentClient.Reply badGzip = fleet.agent().send(fleet.agent().request("/api/fleet/agents/" + a.id() + "/checkin")
                .setHeader("X-Request-ID", "bad-gzip")
                .header("Authorization", "ApiKey " + a.key()).header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofString("{\"status\":\"online\"}")).build());
        assertThat(assertErrorKind(badGzip, 400, "BadRequest")).startsWith("Bad request: ");
        assertThat(standardHeaders(headers(badGzip))).isEqualTo(expected);
        assertThat(badGzip.header("X-Request-Id")).isEqualTo("bad-gzip");

        // A head the HTTP codec cannot take: answered before any route is even looked for.
        try (RawConnection c = new RawConnection(fleet.port())) {
            c.sendBytes(("POST /api/fleet/agents/" + a.id() + "/acks? HTTP/1.1\r\nHost: x\r\nX-Request-Id: framing\r\n"
                    + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            RawResponse r = c.read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(standardHeaders(r.headers())).isEqualTo(expected);
            assertThat(r.headers().get("x-request-id")).isEqualTo("framing");
            assertThat(r.headers().get("connection")).isEqualTo("close");
        }
    }
}
