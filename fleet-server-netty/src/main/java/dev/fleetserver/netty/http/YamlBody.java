package dev.fleetserver.netty.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.util.TokenBuffer;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.fleetserver.core.util.Json;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * A YAML request body ({@code Content-Type: application/yaml}), read whole and parsed into the same tree a JSON body
 * gives: duplicate keys, aliases ({@code *name}, which the parser would turn into the anchor's name) and more than one
 * document are refused. YAML cannot be tokenized as it streams in, so the raw body is held until its end; the route's
 * body limit bounds it. An empty (or blank) body gives {@code null}.
 */
public final class YamlBody implements BodyConsumer<JsonNode> {
    /**
     * Heap the tree may cost per raw byte: a flow sequence of one-letter scalars ({@code [a,a,…]}) makes a node of about
     * 64 bytes for every 2 bytes of text, as {@link JsonBody} counts per token.
     */
    private static final int TREE_FACTOR = 33;
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    /** True when a request's {@code Content-Type} names YAML. */
    public static boolean isYaml(String contentType) {
        if (contentType == null) {
            return false;
        }
        String type = contentType.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
        return type.equals("application/yaml") || type.equals("application/x-yaml") || type.equals("text/yaml");
    }

    /** The tree as YAML text, for answers asked for with {@code Accept: application/yaml}. */
    public static byte[] write(JsonNode tree) {
        try {
            return YAML.writeValueAsBytes(tree);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void accept(ByteBuf piece) throws IOException {
        piece.readBytes(bytes, piece.readableBytes());
    }

    @Override
    public JsonNode finish() throws IOException {
        // One pass over the YAML's tokens, checked as they come and kept as JsonBody keeps a JSON body's; the tree is
        // then built by the shared mapper, as a JSON body's is.
        try (JsonParser p = YAML.createParser(bytes.toByteArray())) {
            TokenBuffer tokens = new TokenBuffer(p);
            int depth = 0;
            boolean documentSeen = false;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (((YAMLParser) p).isCurrentAlias()) {
                    throw new JsonParseException(p, "aliases (*" + p.getText() + ") are not accepted");
                }
                if (depth == 0 && documentSeen) {
                    throw new JsonParseException(p, "one YAML document expected, found more");
                }
                depth += t.isStructStart() ? 1 : t.isStructEnd() ? -1 : 0;
                documentSeen |= depth == 0;
                tokens.copyCurrentEvent(p);
            }
            if (!documentSeen) {
                return null;
            }
            try (JsonParser replay = tokens.asParser(Json.MAPPER)) {
                JsonNode tree = Json.MAPPER.readTree(replay);
                return tree == null || tree.isNull() ? null : tree;
            }
        }
    }

    @Override
    public long retainedBytes() {
        return (long) bytes.size() * TREE_FACTOR;
    }
}
