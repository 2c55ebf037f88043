package dev.fleetserver.netty.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.config.RouteLimitConfig;
import dev.fleetserver.netty.pipeline.FrontEnd.Connection;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** Body limits enforced while the body streams in, compressed and decompressed. */
class BodyLimitsPipelineTest {
    private static final int KIB = 1024;

    private static byte[] gzipOfZeros(int size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            byte[] zeros = new byte[64 * KIB];
            for (int i = 0; i < size / zeros.length; i++) {
                gz.write(zeros);
            }
        }
        return out.toByteArray();
    }

    @Test
    void aGzipBombIsCutAtTheLimitWithoutALargeAllocation() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("checkin", new RouteLimitConfig(null, 0, 0, MIB(1), 64 * KIB))));
        Connection c = fe.connect();
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        c.server.config().setAllocator(alloc);
        long[] peak = {0};
        // Samples while each decompressed piece is alive, i.e. the largest output of any one step.
        fe.probe = () -> peak[0] = Math.max(peak[0], alloc.metric().usedHeapMemory());
        byte[] bomb = gzipOfZeros(64 * 1024 * KIB);  // 64 MiB of zeros in about 64 KiB
        c.send("POST /api/fleet/agents/a/checkin? HTTP/1.1\r\nHost: fleet\r\nContent-Encoding: gzip\r\nContent-Length: "
                + bomb.length + "\r\n\r\n");
        for (int off = 0; off < bomb.length && c.open(); off += 8 * KIB) {
            c.send(Arrays.copyOfRange(bomb, off, Math.min(bomb.length, off + 8 * KIB)));
            peak[0] = Math.max(peak[0], alloc.metric().usedHeapMemory());
        }
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(400);
        assertThat(FrontEnd.body(r.get(0))).isEqualTo(
                "{\"statusCode\":400,\"error\":\"BadRequest\",\"message\":\"Bad request: http: request body too large\"}");
        assertThat(c.open()).isFalse();
        assertThat(fe.parked).isEmpty();
        // Netty's stock decompressor inflates one 8 KiB chunk of this to about 8 MiB at once.
        assertThat(peak[0]).isLessThan(512 * KIB);
    }

    @Test
    void aCompressedBodyUnderTheLimitsIsDecompressedWhole() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("enroll", new RouteLimitConfig(null, 0, 0, 256 * KIB, 512 * KIB))));
        Connection c = fe.connect();
        byte[] gz = gzipOfZeros(256 * KIB);
        c.send(("POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nContent-Encoding: gzip\r\nContent-Length: "
                + gz.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        c.send(gz);
        List<FullHttpResponse> r = c.responses();
        assertThat(r).extracting(FrontEnd::body).containsExactly(String.valueOf(256 * KIB));
    }

    @Test
    void aChunkedBodyOverTheRoutesLimitIsCutWhileItStreams() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of("enroll", new RouteLimitConfig(null, 0, 0, 16 * KIB, 0))));
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nTransfer-Encoding: chunked\r\n\r\n");
        String chunk = Integer.toHexString(4 * KIB) + "\r\n" + "x".repeat(4 * KIB) + "\r\n";
        for (int i = 0; i < 4; i++) {
            c.send(chunk);
        }
        assertThat(c.responses()).isEmpty();
        c.send(chunk);
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(400);
        assertThat(c.open()).isFalse();
    }

    @Test
    void aDeclaredLengthOverTheLimitIsRefusedBeforeTheBody() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nContent-Length: " + (512 * KIB + 1) + "\r\n\r\n");
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(400);
        assertThat(c.open()).isFalse();
    }

    private static long MIB(int n) {
        return n * 1024L * KIB;
    }
}
