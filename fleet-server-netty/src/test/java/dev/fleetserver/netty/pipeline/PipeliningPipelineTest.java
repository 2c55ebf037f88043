package dev.fleetserver.netty.pipeline;

import static dev.fleetserver.netty.pipeline.FrontEnd.checkin;
import static dev.fleetserver.netty.pipeline.FrontEnd.get;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.config.RouteLimitConfig;
import dev.fleetserver.netty.pipeline.FrontEnd.Connection;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** HTTP/1.1 pipelining on the real pipeline: answers in order, early answers included, and bounded. */
class PipeliningPipelineTest {

    @Test
    void aRequestPipelinedBehindAParkedCheckinIsAnsweredAfterIt() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        Connection c = fe.connect();
        c.send(checkin("a") + get("/api/status?"));
        assertThat(fe.parked).hasSize(1);
        assertThat(c.responses()).isEmpty();

        fe.parked.get(0).respond(HttpResponseStatus.OK, "application/json", "{\"action\":\"checkin\"}".getBytes(StandardCharsets.UTF_8));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).extracting(FrontEnd::body).containsExactly("{\"action\":\"checkin\"}", "{\"status\":\"HEALTHY\"}");
    }

    @Test
    void anEarlyRefusalOfAPipelinedRequestWaitsForTheAnswerBeforeIt() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("status", new RouteLimitConfig(Duration.ofMinutes(1), 1, 0, 0, 0))));
        Connection c = fe.connect();
        // The second status is over the rate; its 429 must not overtake the parked checkin's answer.
        c.send(get("/api/status?") + checkin("a") + get("/api/status?") + FrontEnd.request("POST", "/api/fleet/agents/enroll?",
                Map.of(), new byte[600 * 1024]));
        assertThat(c.responses()).extracting(FrontEnd::body).containsExactly("{\"status\":\"HEALTHY\"}");
        fe.parked.get(0).respond(HttpResponseStatus.OK, "application/json", "{\"action\":\"checkin\"}".getBytes(StandardCharsets.UTF_8));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).extracting(x -> x.status().code()).containsExactly(200, 429, 400);
        assertThat(FrontEnd.body(r.get(2))).contains("request body too large");
    }

    @Test
    void noRequestIsServedWhileTheAnswerBeforeItIsStillUnsent() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        Connection c = fe.connect();
        List<ChannelPromise> unsent = new ArrayList<>();
        c.server.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                unsent.add(promise);
                ctx.write(msg);
            }
        });
        c.send(get("/api/status?") + checkin("a"));
        assertThat(fe.parked).isEmpty();
        unsent.forEach(ChannelPromise::setSuccess);
        assertThat(fe.parked).hasSize(1);
    }

    @Test
    void aClientThatPipelinesWithoutBoundIsDisconnected() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        Connection c = fe.connect();
        c.send(checkin("a"));
        String many = get("/api/status?").repeat(100);
        for (int i = 0; i < 200 && c.open(); i++) {
            c.send(many);
        }
        assertThat(c.open()).isFalse();
    }
}
