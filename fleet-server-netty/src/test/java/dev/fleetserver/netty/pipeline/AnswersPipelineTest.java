package dev.fleetserver.netty.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.pipeline.FrontEnd.Connection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** How the exchange writes a parked checkin's answer: gzip as the original does it, and the request id echoed. */
class AnswersPipelineTest {
    private final FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), Duration.ofSeconds(5), Duration.ofSeconds(60),
            Duration.ofSeconds(30), Duration.ofSeconds(35), 1, 1024);

    private FullHttpResponse parkAndAnswer(Map<String, String> headers, String answer) throws Exception {
        return parkAndAnswer(fe, headers, answer);
    }

    private static FullHttpResponse parkAndAnswer(FrontEnd fe, Map<String, String> headers, String answer) throws Exception {
        Connection c = fe.connect();
        c.send(FrontEnd.request("POST", "/api/fleet/agents/a/checkin?", headers, "{\"status\":\"online\"}".getBytes(StandardCharsets.UTF_8)));
        assertThat(fe.parked).hasSize(1);
        fe.parked.get(0).respond(HttpResponseStatus.OK, "application/json", answer.getBytes(StandardCharsets.UTF_8));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        return r.get(0);
    }

    private static String gunzip(FullHttpResponse r) throws IOException {
        byte[] bytes = new byte[r.content().readableBytes()];
        r.content().getBytes(r.content().readerIndex(), bytes);
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void anAnswerAboveTheThresholdIsGzippedWhenTheClientAsksForExactlyGzip() throws Exception {
        String answer = "{\"actions\":[" + "\"x\",".repeat(400) + "\"x\"]}";
        FullHttpResponse r = parkAndAnswer(Map.of("Accept-Encoding", "gzip"), answer);
        assertThat(r.headers().get("Content-Encoding")).isEqualTo("gzip");
        assertThat(r.headers().getInt("Content-Length")).isEqualTo(r.content().readableBytes()).isLessThan(answer.length());
        assertThat(gunzip(r)).isEqualTo(answer);
    }

    @Test
    void anAnswerOfExactlyTheThresholdIsSentAsIs() throws Exception {
        String answer = "x".repeat(1024);
        FullHttpResponse r = parkAndAnswer(Map.of("Accept-Encoding", "gzip"), answer);
        assertThat(r.headers().contains("Content-Encoding")).isFalse();
        assertThat(FrontEnd.body(r)).isEqualTo(answer);
    }

    @Test
    void anAnswerIsNotGzippedWhenTheClientAsksForMoreThanGzip() throws Exception {
        String answer = "x".repeat(4096);
        FullHttpResponse r = parkAndAnswer(Map.of("Accept-Encoding", "gzip, deflate"), answer);
        assertThat(r.headers().contains("Content-Encoding")).isFalse();
        assertThat(FrontEnd.body(r)).isEqualTo(answer);
    }

    @Test
    void anAnswerIsNotGzippedWhenCompressionIsOff() throws Exception {
        FrontEnd off = new FrontEnd(FrontEnd.limits(0, Map.of()), Duration.ofSeconds(5), Duration.ofSeconds(60),
                Duration.ofSeconds(30), Duration.ofSeconds(35), 0, 1024);
        FullHttpResponse r = parkAndAnswer(off, Map.of("Accept-Encoding", "gzip"), "x".repeat(4096));
        assertThat(r.headers().contains("Content-Encoding")).isFalse();
    }

    @Test
    void theAgentsRequestIdIsEchoedExactlyAsSentAfterTheParkedCheckin() throws Exception {
        String lower = UUID.randomUUID().toString();
        assertThat(parkAndAnswer(Map.of("X-Request-ID", lower), "{}").headers().get("X-Request-Id")).isEqualTo(lower);
        fe.parked.clear();
        String upper = UUID.randomUUID().toString().toUpperCase();
        assertThat(parkAndAnswer(Map.of("X-Request-ID", upper), "{}").headers().get("X-Request-Id")).isEqualTo(upper);
        fe.parked.clear();
        assertThat(parkAndAnswer(Map.of("X-Request-ID", "trace-17"), "{}").headers().get("X-Request-Id")).isEqualTo("trace-17");
    }

    @Test
    void aRequestWithoutAnIdIsAnsweredWithAGeneratedUuid() throws Exception {
        String id = parkAndAnswer(Map.of(), "{}").headers().get("X-Request-Id");
        assertThat(UUID.fromString(id).toString()).isEqualTo(id);
    }
}
