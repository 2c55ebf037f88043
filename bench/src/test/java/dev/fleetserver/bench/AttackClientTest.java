package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class AttackClientTest {
    private static int headEnd(byte[] request) {
        String s = new String(request, StandardCharsets.ISO_8859_1);
        return s.indexOf("\r\n\r\n") + 4;
    }

    @Test
    void theBombIsAboutTwentyKilobytesOfGzipThatInflatesToJustUnderTheCheckinLimit() throws Exception {
        int inflated = 20 * 1024 * 1024 - 1024;

        byte[] request = AttackClient.bombCheckin("127.0.0.1:8220", inflated);

        int head = headEnd(request);
        String headers = new String(request, 0, head, StandardCharsets.ISO_8859_1);
        assertThat(headers).startsWith("POST /api/fleet/agents/").contains("/checkin? HTTP/1.1\r\n")
                .contains("Content-Encoding: gzip\r\n").contains("Content-Length: " + (request.length - head) + "\r\n")
                .doesNotContainIgnoringCase("authorization");
        assertThat(request.length - head).isBetween(15_000, 25_000);
        byte[] body;
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(request, head, request.length - head))) {
            body = in.readAllBytes();
        }
        assertThat(body).hasSize(inflated);
        assertThat(new String(body, 0, 30, StandardCharsets.US_ASCII)).isEqualTo("{\"status\":\"online\",\"message\":\"");
    }

    @Test
    void thePipelinedRequestIsASmallCheckinWithoutCredentials() {
        byte[] request = AttackClient.smallCheckin("127.0.0.1:8220");

        String headers = new String(request, 0, headEnd(request), StandardCharsets.ISO_8859_1);
        assertThat(request.length).isLessThan(400);
        assertThat(headers).contains("/checkin? HTTP/1.1\r\n").doesNotContainIgnoringCase("authorization");
    }
}
