package dev.fleetserver.core.util;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;

/** The one shared Jackson mapper and small tree helpers. */
public final class Json {
    /** Thread-safe once configured; never reconfigure it. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {
    }

    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    public static ArrayNode array() {
        return JsonNodeFactory.instance.arrayNode();
    }

    /** Text at a dotted path, or {@code null} when absent, null or not textual. */
    public static String text(JsonNode node, String path) {
        JsonNode n = at(node, path);
        return n != null && n.isTextual() ? n.textValue() : null;
    }

    /** The node at a dotted path, or {@code null} when absent. */
    public static JsonNode at(JsonNode node, String path) {
        JsonNode current = node;
        int start = 0;
        while (current != null) {
            int dot = path.indexOf('.', start);
            String name = dot < 0 ? path.substring(start) : path.substring(start, dot);
            current = current.isObject() ? current.get(name) : null;
            if (dot < 0) {
                break;
            }
            start = dot + 1;
        }
        return current == null || current.isMissingNode() ? null : current;
    }

    /** A short reason for a decode failure, without Jackson's source-location noise. */
    public static String reason(java.io.IOException e) {
        if (e instanceof JsonProcessingException j && j.getOriginalMessage() != null) {
            String m = j.getOriginalMessage();
            int marker = m.indexOf(" (start marker at ");
            return marker < 0 ? m : m.substring(0, marker);
        }
        return String.valueOf(e.getMessage());
    }

    public static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String string(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
