package dev.fleetserver.netty.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.pipeline.FrontEnd.Connection;
import io.netty.handler.codec.http.FullHttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Request framing as RFC 9112 §6 wants it, so that no request reads one way here and another way behind a proxy:
 * ambiguous or unsupported framing is answered 400 (501 for an unknown transfer coding) and the connection closed
 * without reading anything after the head.
 */
class FramingPipelineTest {
    /** A request whose body, read as chunked, is empty and followed by a second ("smuggled") request. */
    private static final String SMUGGLED = "0\r\n\r\nGET /api/status? HTTP/1.1\r\nHost: fleet\r\n\r\n";

    private static List<FullHttpResponse> send(FrontEnd fe, String head, String body) throws Exception {
        Connection c = fe.connect();
        c.send(head + "\r\n" + body);
        List<FullHttpResponse> r = c.responses();
        assertThat(c.open()).as("connection closed after " + head).isFalse();
        return r;
    }

    private static void assertRefused(List<FullHttpResponse> r, int status, String message) {
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(status);
        assertThat(r.get(0).headers().get("Connection")).isEqualToIgnoringCase("close");
        assertThat(FrontEnd.body(r.get(0))).contains(message);
    }

    @Test
    void aRequestWithBothContentLengthAndTransferEncodingIsRefusedAndNothingAfterItIsRead() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        List<FullHttpResponse> r = send(fe, "POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nContent-Length: "
                + SMUGGLED.length() + "\r\nTransfer-Encoding: chunked\r\n", SMUGGLED);
        assertRefused(r, 400, "both Transfer-Encoding and Content-Length");
    }

    @Test
    void aTransferCodingThatIsNotChunkedIsRefused() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        for (String te : new String[] {"xchunked", "chunked, identity", "identity", "chunked;q=1, gzip", "chunked, chunked"}) {
            List<FullHttpResponse> r = send(fe, "POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nTransfer-Encoding: " + te + "\r\n",
                    SMUGGLED);
            assertRefused(r, 400, "Transfer-Encoding");
        }
    }

    @Test
    void chunkedTwiceOnSeparateHeaderLinesIsRefused() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        List<FullHttpResponse> r = send(fe, "POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nTransfer-Encoding: chunked\r\n"
                + "Transfer-Encoding: chunked\r\n", SMUGGLED);
        assertRefused(r, 400, "Transfer-Encoding");
    }

    @Test
    void anUnknownTransferCodingBeforeChunkedIsNotImplemented() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        List<FullHttpResponse> r = send(fe, "POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nTransfer-Encoding: gzip, chunked\r\n",
                SMUGGLED);
        assertRefused(r, 501, "\"error\":\"NotImplemented\"");
    }

    @Test
    void transferEncodingOnAnHttp10RequestIsRefused() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        List<FullHttpResponse> r = send(fe, "POST /api/fleet/agents/enroll? HTTP/1.0\r\nHost: fleet\r\nTransfer-Encoding: chunked\r\n",
                SMUGGLED);
        assertRefused(r, 400, "HTTP/1.0");
    }

    @Test
    void aChunkedBodyIsReadAndTheConnectionKept() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/enroll? HTTP/1.1\r\nHost: fleet\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                + FrontEnd.get("/api/status?"));
        assertThat(c.responses()).extracting(FrontEnd::body).containsExactly("5", "{\"status\":\"HEALTHY\"}");
        assertThat(c.open()).isTrue();
    }
}
