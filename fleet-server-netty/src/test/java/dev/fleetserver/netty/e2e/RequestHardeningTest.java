package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.agentHeaders;
import static dev.fleetserver.netty.e2e.E2eSupport.await;
import static dev.fleetserver.netty.e2e.E2eSupport.awaitParked;
import static dev.fleetserver.netty.e2e.E2eSupport.runningPolicy;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import dev.fleetserver.netty.e2e.E2eSupport.RawConnection;
import dev.fleetserver.netty.e2e.E2eSupport.RawResponse;
import dev.fleetserver.netty.limit.BodyBudget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * On the wire against the running server: a client without a key cannot make the server read, inflate or hold its
 * body; a client that pipelines without reading is cut off; and requests whose framing could be read two ways are
 * refused with the connection closed, so nothing can be smuggled behind them.
 */
class RequestHardeningTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded()
            .server(server -> server.with("timeouts").put("checkin_long_poll", "60s"));

    /** About 20 KiB of gzip that inflates to just under the checkin's 20 MiB decompressed limit. */
    private static byte[] bomb;

    @BeforeEach
    void makeBomb() throws Exception {
        if (bomb == null) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
                byte[] spaces = new byte[1024 * 1024];
                Arrays.fill(spaces, (byte) ' ');
                for (int i = 0; i < 19; i++) {
                    gz.write(spaces);
                }
                gz.write("{\"status\":\"online\"}".getBytes(StandardCharsets.US_ASCII));
            }
            bomb = out.toByteArray();
        }
    }

    private Map<String, String> bombHeaders(String authorization, int contentLength) {
        Map<String, String> h = new LinkedHashMap<>(agentHeaders(authorization));
        h.put("Content-Encoding", "gzip");
        h.put("Content-Length", Integer.toString(contentLength));
        return h;
    }

    @Test
    void aRequestWithoutAKeyIsAnsweredBeforeItsBodyArrives() throws Exception {
        try (RawConnection c = new RawConnection(fleet.port())) {
            // Declares a 20 KiB body, sends 1 KiB of it and waits: the answer comes anyway, from the head alone.
            c.send("POST", "/api/fleet/agents/someone/checkin?", bombHeaders(null, bomb.length), Arrays.copyOf(bomb, 1024));
            RawResponse r = c.read();
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.text()).contains("ErrNoAuthHeader");
            assertThat(r.headers().get("connection")).isEqualToIgnoringCase("close");
            assertThat(c.awaitServerClose(Duration.ofSeconds(10))).isEmpty();
        }
    }

    @Test
    void manyGzipBombsWithoutAValidKeyAreRefusedWithoutHoldingMemory() throws Exception {
        Enrolled parked = fleet.enrollUpToDate();
        var parkedReply = fleet.agent().checkinAsync(parked.id(), parked.key(), runningPolicy("default", 1));
        awaitParked(fleet.daemon(), 1);

        List<RawConnection> attackers = new ArrayList<>();
        try {
            for (int i = 0; i < 150; i++) {
                String authorization = i % 2 == 0 ? null : E2eSupport.apiKeyHeader("no-such-key-" + i, "secret");
                RawConnection c = new RawConnection(fleet.port());
                attackers.add(c);
                c.send("POST", "/api/fleet/agents/agent-" + i + "/checkin?", bombHeaders(authorization, bomb.length), bomb);
            }
            for (RawConnection c : attackers) {
                RawResponse r = c.read();
                assertThat(r.status()).isEqualTo(401);
            }
            // Nothing of theirs is held: each body was dropped unread (or read to its end and dropped, uninflated).
            await("no request body held", () -> BodyBudget.PROCESS.held() == 0);
        } finally {
            for (RawConnection c : attackers) {
                c.close();
            }
        }
        assertThat(fleet.daemon().core().checkin().registry().size()).as("the parked agent is still parked").isEqualTo(1);
        assertThat(parkedReply).isNotDone();
    }

    @Test
    void anAgentsLargeGzippedCheckinIsStreamedAndAccepted() throws Exception {
        Enrolled a = fleet.enrollUpToDate();
        ObjectNode body = runningPolicy("default", 1);
        ArrayNode components = body.putArray("components");
        for (int i = 0; i < 20_000; i++) {
            ObjectNode c = components.addObject().put("id", "log-" + i).put("type", "log").put("status", "HEALTHY")
                    .put("message", "Healthy: communicating with pid '" + i + "'");
            c.putArray("units").addObject().put("id", "log-" + i + "-unit").put("type", "input").put("status", "HEALTHY");
        }
        var reply = fleet.agent().checkinAsync(a.id(), a.key(), body);
        awaitParked(fleet.daemon(), 1);
        await("components written", () -> {
            fleet.daemon().core().checkin().flushPending().join();
            return E2eSupport.agentDoc(fleet.daemon(), a.id()).path("components").size() == 20_000;
        });
        assertThat(reply).isNotDone();
        await("no request body held", () -> BodyBudget.PROCESS.held() == 0);
    }

    /**
     * Behind a parked checkin, a client writes tens of thousands of requests and never reads an answer. While the
     * checkin is parked the server reads none of them (they wait in the client's socket); once it is answered, the
     * server serves them only as fast as the client takes the answers, so when the client stops taking them the
     * write timeout ends the connection. At no point does the server hold more than a socket read of them.
     */
    @Test
    void aClientThatPipelinesWithoutReadingHoldsNoMemoryAndIsCutOffByTheWriteTimeout() throws Exception {
        fleet.restart(server -> server.with("timeouts").put("checkin_long_poll", "60s").put("write", "2s"));
        Enrolled a = fleet.enrollUpToDate();
        try (RawConnection c = new RawConnection(fleet.port())) {
            byte[] checkin = Json.bytes(runningPolicy("default", 1));
            Map<String, String> h = new LinkedHashMap<>(agentHeaders("ApiKey " + a.key()));
            h.put("Content-Length", Integer.toString(checkin.length));
            c.send("POST", "/api/fleet/agents/" + a.id() + "/checkin?", h, checkin);
            awaitParked(fleet.daemon(), 1);

            byte[] one = RawConnection.request("GET", "/api/status?", Map.of(), null);
            ByteArrayOutputStream many = new ByteArrayOutputStream();
            // About 9 MB: more than the socket buffers of both sides take, so the writer blocks until the server closes.
            for (int i = 0; i < 200_000; i++) {
                many.writeBytes(one);
            }
            java.util.concurrent.atomic.AtomicBoolean cutOff = new java.util.concurrent.atomic.AtomicBoolean();
            Thread writer = new Thread(() -> {
                try {
                    c.sendBytes(many.toByteArray());
                } catch (IOException e) {
                    cutOff.set(true);
                }
            });
            BodyBudget.PROCESS.resetPeak();
            writer.start();
            // Behind the parked checkin the server reads pipelined requests up to its bound, then stops reading: the
            // writer is still blocked a second later, and at no moment of that second did they hold more than the bound.
            writer.join(1000);
            assertThat(writer.isAlive()).as("the server stopped reading the pipelined requests").isTrue();
            assertThat(BodyBudget.PROCESS.peak()).isLessThan(256 * 1024);
            assertThat(fleet.daemon().core().checkin().registry().size()).isEqualTo(1);

            // A new revision answers the parked checkin; then the pipelined requests are served until the client's
            // unread answers fill the socket, and the write timeout closes the connection.
            E2eSupport.managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default",
                    "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
            awaitParked(fleet.daemon(), 0);
            writer.join(30_000);
            assertThat(cutOff).as("the server closed the connection under the writer").isTrue();
        }
        await("no request body held", () -> BodyBudget.PROCESS.held() == 0);
        assertThat(fleet.agent().status(null).status()).isEqualTo(200);
    }

    @Test
    void contentLengthTogetherWithChunkedIsRefusedAndWhatFollowsIsNotServed() throws Exception {
        String smuggled = "0\r\n\r\nGET /api/status? HTTP/1.1\r\nHost: x\r\n\r\n";
        try (RawConnection c = new RawConnection(fleet.port())) {
            Map<String, String> h = new LinkedHashMap<>(agentHeaders(null));
            h.put("Content-Length", Integer.toString(smuggled.length()));
            h.put("Transfer-Encoding", "chunked");
            c.send("POST", "/api/fleet/agents/enroll?", h, smuggled.getBytes(StandardCharsets.US_ASCII));
            RawResponse r = c.read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.text()).contains("both Transfer-Encoding and Content-Length");
            assertThat(c.awaitServerClose(Duration.ofSeconds(10))).as("no second answer").isEmpty();
        }
    }

    @Test
    void transferCodingsOtherThanAFinalChunkedAreRefused() throws Exception {
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("xchunked", 400);
        expected.put("chunked, identity", 400);
        expected.put("gzip, chunked", 501);
        for (var e : expected.entrySet()) {
            try (RawConnection c = new RawConnection(fleet.port())) {
                Map<String, String> h = new LinkedHashMap<>(agentHeaders(null));
                h.put("Transfer-Encoding", e.getKey());
                c.send("POST", "/api/fleet/agents/enroll?", h, "0\r\n\r\nGET /api/status? HTTP/1.1\r\nHost: x\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                RawResponse r = c.read();
                assertThat(r.status()).as(e.getKey()).isEqualTo(e.getValue());
                assertThat(c.awaitServerClose(Duration.ofSeconds(10))).as(e.getKey()).isEmpty();
            }
        }
    }
}
