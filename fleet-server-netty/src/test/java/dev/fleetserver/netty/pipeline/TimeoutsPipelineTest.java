package dev.fleetserver.netty.pipeline;

import static dev.fleetserver.netty.pipeline.FrontEnd.checkin;
import static dev.fleetserver.netty.pipeline.FrontEnd.get;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.pipeline.FrontEnd.Connection;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The read-header, read, write and idle timeouts on the real pipeline, in frozen time. */
class TimeoutsPipelineTest {
    private final FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), Duration.ofSeconds(5), Duration.ofSeconds(60),
            Duration.ofSeconds(30), Duration.ofSeconds(35));

    @Test
    void aConnectionThatSendsNothingIsClosedAfterTheIdleTimeout() throws Exception {
        Connection c = fe.connect();
        c.advance(Duration.ofSeconds(34));
        assertThat(c.open()).isTrue();
        c.advance(Duration.ofSeconds(2));
        assertThat(c.open()).isFalse();
        assertThat(c.responses()).isEmpty();
    }

    @Test
    void aRequestThatWaitedUnreadLongerThanTheReadHeaderTimeoutIsStillAnswered() throws Exception {
        // The event loop was behind: the request sat in the socket for 6 s before the server read it.
        Connection c = fe.connect();
        c.advance(Duration.ofSeconds(6));
        assertThat(c.open()).isTrue();

        c.send(get("/api/status?"));

        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(200);
    }

    @Test
    void aFirstHeadThatNeverEndsIsClosedAfterTheReadHeaderTimeoutFromItsFirstBytes() throws Exception {
        Connection c = fe.connect();
        c.advance(Duration.ofSeconds(10));
        c.send("GET /api/status? HTTP/1.1\r\nHost: fl");
        c.advance(Duration.ofMillis(4900));
        assertThat(c.open()).isTrue();
        c.advance(Duration.ofMillis(200));
        assertThat(c.open()).isFalse();
        assertThat(c.responses()).isEmpty();
    }

    @Test
    void aHeadThatNeverEndsIsClosedAfterTheReadHeaderTimeoutEvenOnAKeptAliveConnection() throws Exception {
        Connection c = fe.connect();
        c.send(get("/api/status?"));
        assertThat(c.responses()).hasSize(1);
        // Idle between requests: only the idle timeout (35 s) applies.
        c.advance(Duration.ofSeconds(20));
        assertThat(c.open()).isTrue();
        c.send("GET /api/status? HTTP/1.1\r\nHost: fl");
        c.advance(Duration.ofMillis(4900));
        assertThat(c.open()).isTrue();
        c.send("eet\r\nUser-Agent: slow");
        c.advance(Duration.ofMillis(200));
        assertThat(c.open()).isFalse();
    }

    @Test
    void aBodyThatNeverArrivesGets408AfterTheReadTimeout() throws Exception {
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nContent-Length: 100\r\n\r\n{\"type\":");
        c.advance(Duration.ofSeconds(59));
        assertThat(c.open()).isTrue();
        c.advance(Duration.ofSeconds(2));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(408);
        assertThat(FrontEnd.body(r.get(0))).isEqualTo("{\"statusCode\":408,\"error\":\"RequestTimeout\",\"message\":\"timeout on request\"}");
        assertThat(c.open()).isFalse();
    }

    @Test
    void aBodyCutShortByTheReadTimeoutGivesBackWhatItHeld() throws Exception {
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/a1/acks? HTTP/1.1\r\nHost: fleet\r\nContent-Length: 100000\r\n\r\n{\"events\":\""
                + "x".repeat(20_000));
        assertThat(fe.budget.held()).isPositive();

        c.advance(Duration.ofSeconds(61));

        assertThat(c.responses().get(0).status().code()).isEqualTo(408);
        assertThat(c.open()).isFalse();
        assertThat(fe.budget.held()).isZero();
    }

    @Test
    void aParkedCheckinOutlivesEveryTimeout() throws Exception {
        Connection c = fe.connect();
        c.send(checkin("a"));
        assertThat(fe.parked).hasSize(1);
        c.advance(Duration.ofMinutes(30));
        assertThat(c.open()).isTrue();

        fe.parked.get(0).respond(HttpResponseStatus.OK, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(c.responses()).hasSize(1);
        // Back to idle between requests.
        c.advance(Duration.ofSeconds(34));
        assertThat(c.open()).isTrue();
        c.advance(Duration.ofSeconds(2));
        assertThat(c.open()).isFalse();
    }

    @Test
    void anAnswerTheClientNeverTakesClosesTheConnectionAfterTheWriteTimeout() throws Exception {
        Connection c = fe.connect();
        // A socket whose send buffer stays full: writes are never completed.
        c.server.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ReferenceCountUtil.release(msg);
            }
        });
        c.send(get("/api/status?"));
        c.advance(Duration.ofSeconds(29));
        assertThat(c.open()).isTrue();
        c.advance(Duration.ofSeconds(2));
        assertThat(c.open()).isFalse();
    }

    @Test
    void anAnswerStillBeingSentIsNotCutByTheIdleTimeoutWhichStartsOnceItIsOut() throws Exception {
        FrontEnd slow = new FrontEnd(FrontEnd.limits(0, Map.of()), Duration.ofSeconds(5), Duration.ofSeconds(60),
                Duration.ofSeconds(120), Duration.ofSeconds(35));
        Connection c = slow.connect();
        // A slow reader: the answer (a large artifact, say) takes 40 s to leave the socket.
        List<ChannelPromise> pending = new java.util.ArrayList<>();
        c.server.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ReferenceCountUtil.release(msg);
                pending.add(promise);
            }
        });
        c.send(get("/api/status?"));
        c.advance(Duration.ofSeconds(40));
        assertThat(c.open()).isTrue();

        pending.forEach(ChannelPromise::trySuccess);
        c.advance(Duration.ofSeconds(34));
        assertThat(c.open()).isTrue();
        c.advance(Duration.ofSeconds(2));
        assertThat(c.open()).isFalse();
    }
}
