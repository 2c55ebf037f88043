package dev.fleetserver.netty.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.http.PipeliningGuard;
import dev.fleetserver.netty.limit.BodyBudget;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the per-connection handler counts, driven message by message, behind the pipelining guard as in the real
 * pipeline (which tells it when a request is over).
 */
class HttpMetricsHandlerTest {
    private static final String CHECKIN = "/api/fleet/agents/a1/checkin?";
    private final DaemonMetrics metrics = new DaemonMetrics("embedded");
    private final EmbeddedChannel channel = new EmbeddedChannel(new PipeliningGuard(BodyBudget.UNLIMITED), metrics.newConnectionHandler());
    private final RouteStats checkin = metrics.routes().match(HttpMethod.POST, CHECKIN);

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        metrics.close();
    }

    private void request(String uri, String body) {
        channel.writeInbound(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri));
        channel.writeInbound(new DefaultLastHttpContent(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8)));
        drainInbound();
    }

    private void answer(HttpResponseStatus status, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        channel.writeOutbound(r);
        drainOutbound();
    }

    private void drainInbound() {
        Object m;
        while ((m = channel.readInbound()) != null) {
            ReferenceCountUtil.release(m);
        }
    }

    private void drainOutbound() {
        Object m;
        while ((m = channel.readOutbound()) != null) {
            ReferenceCountUtil.release(m);
        }
    }

    @Test
    void aRequestIsActiveUntilItsAnswerIsWrittenAndItsBytesAreCounted() {
        request(CHECKIN, "{\"status\":\"online\"}");
        assertThat(checkin.total.count()).isEqualTo(1);
        assertThat(checkin.active.get()).isEqualTo(1);
        assertThat(checkin.bodyIn.count()).isEqualTo(19);

        answer(HttpResponseStatus.OK, "{\"action\":\"checkin\"}");
        assertThat(checkin.active.get()).isZero();
        assertThat(checkin.bodyOut.count()).isEqualTo(20);
        assertThat(checkin.errors4xx.count() + checkin.errors5xx.count()).isZero();
    }

    @Test
    void theRouteLimitersAnswersAreLimitHitsNotErrors() {
        request(CHECKIN, "{}");
        answer(HttpResponseStatus.TOO_MANY_REQUESTS, "{\"statusCode\":429,\"error\":\"MaxLimit\",\"message\":\"exceeded the max limit\"}");
        request(CHECKIN, "{}");
        answer(HttpResponseStatus.TOO_MANY_REQUESTS, "{\"statusCode\":429,\"error\":\"RateLimit\",\"message\":\"exceeded the rate limit\"}");
        request(CHECKIN, "{}");
        answer(HttpResponseStatus.TOO_MANY_REQUESTS, "Server capacity exceeded.");

        assertThat(checkin.limitMax.count()).isEqualTo(1);
        assertThat(checkin.limitRate.count()).isEqualTo(1);
        assertThat(checkin.errors4xx.count()).isZero();
        assertThat(metrics.stats().at("/http_server/tcp_rejected").asLong()).isEqualTo(1);
        assertThat(checkin.active.get()).isZero();
    }

    @Test
    void clientAndServerErrorsAreCountedByClass() {
        request(CHECKIN, "{}");
        answer(HttpResponseStatus.UNAUTHORIZED, "{\"statusCode\":401}");
        request(CHECKIN, "{}");
        answer(HttpResponseStatus.SERVICE_UNAVAILABLE, "{\"statusCode\":503}");
        assertThat(checkin.errors4xx.count()).isEqualTo(1);
        assertThat(checkin.errors5xx.count()).isEqualTo(1);
        assertThat(metrics.stats().at("/http_server/routes/checkin/fail").asLong()).isEqualTo(2);
    }

    @Test
    void pipelinedRequestsAreMatchedToTheirAnswersInOrder() {
        request(CHECKIN, "{}");
        RouteStats status = metrics.routes().match(HttpMethod.GET, "/api/status");
        channel.writeInbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/api/status"));
        drainInbound();
        answer(HttpResponseStatus.OK, "{}");
        assertThat(checkin.active.get()).isZero();
        assertThat(status.active.get()).isEqualTo(1);
        answer(HttpResponseStatus.OK, "{\"status\":\"HEALTHY\"}");
        assertThat(status.active.get()).isZero();
        assertThat(status.bodyOut.count()).isEqualTo(20);
    }

    @Test
    void aStreamedAnswerEndsAtItsLastContentAndAContinueIsNotTheAnswer() {
        request(CHECKIN, "{}");
        channel.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        channel.writeOutbound(new io.netty.handler.codec.http.DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        channel.writeOutbound(new DefaultHttpContent(Unpooled.copiedBuffer("abc", StandardCharsets.UTF_8)));
        assertThat(checkin.active.get()).isEqualTo(1);
        channel.writeOutbound(new DefaultLastHttpContent(Unpooled.copiedBuffer("de", StandardCharsets.UTF_8)));
        drainOutbound();
        assertThat(checkin.active.get()).isZero();
        assertThat(checkin.bodyOut.count()).isEqualTo(5);
    }

    @Test
    void aClientThatLeavesBeforeItsAnswerIsADropAndTheConnectionIsCountedClosed() {
        request(CHECKIN, "{}");
        assertThat(metrics.stats().at("/http_server/tcp_active").asLong()).isEqualTo(1);
        channel.close();
        assertThat(checkin.active.get()).isZero();
        assertThat(checkin.dropped.count()).isEqualTo(1);
        assertThat(metrics.stats().at("/http_server/tcp_active").asLong()).isZero();
        assertThat(metrics.stats().at("/http_server/tcp_close").asLong()).isEqualTo(1);
    }

    @Test
    void requestsOutsideTheOriginalsRoutesCountOnlyAsConnectionTraffic() {
        request("/nope", "{}");
        answer(HttpResponseStatus.NOT_FOUND, "404 page not found\n");
        assertThat(metrics.routes().all()).allSatisfy(r -> assertThat(r.total.count()).isZero());
    }
}
