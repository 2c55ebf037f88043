package dev.fleetserver.netty.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.util.Json;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The streamed JSON body gives what {@code Json.MAPPER.readTree} gives, however the bytes are cut. */
class JsonBodyTest {
    private static final String[] DOCUMENTS = {
        "{\"status\":\"online\",\"message\":\"Running\",\"ack_token\":\"\",\"poll_timeout\":\"5m\"}",
        "{\"n\":[0,1,-1,42,9223372036854775807,18446744073709551616,1.10,-0.0,1e400,3.14159265358979323846264338327950288]}",
        "{\"nested\":{\"a\":[{\"b\":{\"c\":[[],{},null,true,false]}}]},\"\\u00e9t\\u00e9\":\"caf\u00e9 \uD83D\uDE00 \\\"q\\\"\"}",
        "[1,2,3]",
        "\"just a string\"",
        "  {\"dup\":1,\"dup\":2}  \n",
    };

    @Test
    void everyWayOfCuttingTheBytesGivesTheTreeTheMapperReads() throws Exception {
        for (String doc : DOCUMENTS) {
            byte[] bytes = doc.getBytes(StandardCharsets.UTF_8);
            JsonNode expected = Json.MAPPER.readTree(bytes);
            for (int piece : new int[] {1, 2, 3, 7, 64, bytes.length}) {
                JsonNode streamed = parse(bytes, piece);
                assertThat(streamed).as(doc + " in pieces of " + piece).isEqualTo(expected);
                assertThat(Json.string(streamed)).isEqualTo(Json.string(expected));
            }
        }
    }

    @Test
    void numbersKeepTheirExactValues() throws Exception {
        JsonNode n = parse("{\"f\":0.1000000000000000055511151231257827,\"big\":18446744073709551616}".getBytes(StandardCharsets.UTF_8), 3);
        assertThat(n.get("f").decimalValue()).isEqualByComparingTo("0.1000000000000000055511151231257827");
        assertThat(n.get("big").bigIntegerValue()).isEqualTo(new java.math.BigInteger("18446744073709551616"));
    }

    @Test
    void anEmptyOrBlankBodyIsNull() throws Exception {
        assertThat(parse(new byte[0], 1)).isNull();
        assertThat(parse(" \r\n\t ".getBytes(StandardCharsets.US_ASCII), 2)).isNull();
    }

    @Test
    void aBodyThatEndsTooSoonFailsAsUnexpectedEndOfInput() {
        for (String bad : new String[] {"{\"a\":", "{\"a\":[1,", "\"abc"}) {
            assertThatThrownBy(() -> parse(bad.getBytes(StandardCharsets.UTF_8), 2)).as(bad).isInstanceOf(JsonProcessingException.class)
                    .satisfies(e -> assertThat(Json.reason((IOException) e)).startsWith("Unexpected end-of-input").doesNotContain("Source"));
        }
    }

    @Test
    void malformedJsonFailsWithJacksonsShortReason() {
        for (String bad : new String[] {"not json", "{\"events\":[]} x", "{\"a\":1}{\"b\":2}", "{\"a\" 1}"}) {
            assertThatThrownBy(() -> parse(bad.getBytes(StandardCharsets.UTF_8), 2)).as(bad).isInstanceOf(JsonProcessingException.class)
                    .satisfies(e -> assertThat(Json.reason((IOException) e)).isNotBlank().doesNotContain("Source"));
        }
    }

    @Test
    void nestingBeyondTheMappersLimitFails() {
        byte[] deep = ("[".repeat(100_000)).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> parse(deep, 4096)).isInstanceOf(JsonProcessingException.class)
                .hasMessageContaining("nesting depth");
    }

    @Test
    void whatItHoldsGrowsWithTheTokensItKeeps() throws Exception {
        JsonBody body = new JsonBody();
        assertThat(body.retainedBytes()).isZero();
        body.accept(Unpooled.wrappedBuffer("[{},{},{},{}".getBytes(StandardCharsets.US_ASCII)));
        long fewTokens = body.retainedBytes();
        body.accept(Unpooled.wrappedBuffer(",{}".repeat(1000).getBytes(StandardCharsets.US_ASCII)));
        assertThat(body.retainedBytes()).isGreaterThan(fewTokens + 2000 * JsonBody.TOKEN_COST);
    }

    private static JsonNode parse(byte[] bytes, int piece) throws IOException {
        JsonBody body = new JsonBody();
        for (int at = 0; at < bytes.length; at += piece) {
            body.accept(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + piece))));
        }
        return body.finish();
    }
}
