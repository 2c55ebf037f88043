package dev.fleetserver.netty.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteBufferFeeder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.util.TokenBuffer;
import dev.fleetserver.core.util.Json;
import io.netty.buffer.ByteBuf;
import java.io.IOException;

/**
 * A JSON request body parsed as it streams in, with Jackson's non-blocking parser: each decoded piece is tokenized
 * at once and its tokens kept in a {@link TokenBuffer} (Jackson's own compact token store), from which the tree is
 * built at the end with the shared mapper, so the result, its number handling and its errors (trailing tokens,
 * nesting and length constraints) are exactly those of {@code Json.MAPPER.readTree}. Nothing of the raw body is kept.
 * An empty (or blank) body gives {@code null}.
 */
public final class JsonBody implements BodyConsumer<JsonNode> {
    /**
     * Heap one token costs while the body is held, as a token in the buffer and then a node of the tree (object
     * headers, references, map entries), the bytes of names and values counted separately. Measured with Jackson 2.18
     * on a 64-bit JVM with compressed references: 12 to 69 bytes per token for buffer and tree together, from arrays
     * of small numbers to realistic ack and component lists; 64 plus the body's bytes stays above all of them.
     */
    static final int TOKEN_COST = 64;

    private final JsonParser parser;
    private final ByteBufferFeeder feeder;
    private final TokenBuffer tokens;
    private long tokenCount;
    private long bytes;

    public JsonBody() {
        try {
            this.parser = Json.MAPPER.getFactory().createNonBlockingByteBufferParser();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        this.feeder = (ByteBufferFeeder) parser.getNonBlockingInputFeeder();
        // Floats kept as BigDecimal, as the shared mapper reads them: 1.10 stays 1.10.
        this.tokens = new TokenBuffer(parser).forceUseOfBigDecimal(true);
    }

    @Override
    public void accept(ByteBuf piece) throws IOException {
        bytes += piece.readableBytes();
        feeder.feedInput(piece.nioBuffer());
        drain();
    }

    @Override
    public JsonNode finish() throws IOException {
        feeder.endOfInput();
        drain();
        parser.close();
        if (tokenCount == 0) {
            return null;
        }
        try (JsonParser replay = tokens.asParser(Json.MAPPER)) {
            return Json.MAPPER.readTree(replay);
        }
    }

    @Override
    public long retainedBytes() {
        return bytes + TOKEN_COST * tokenCount;
    }

    /** Tokenizes everything fed so far; the parser holds no reference to the input afterwards. */
    private void drain() throws IOException {
        for (JsonToken t = parser.nextToken(); t != null && t != JsonToken.NOT_AVAILABLE; t = parser.nextToken()) {
            tokens.copyCurrentEvent(parser);
            tokenCount++;
        }
    }
}
