package dev.fleetserver.core.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/** Elasticsearch's partial-document update ({@code POST _update} with {@code doc}), on Jackson trees. */
public final class JsonMerge {

    private JsonMerge() {
    }

    /**
     * Merges {@code partial} into {@code target} in place: where both sides hold an object the two are merged
     * recursively; every other value of {@code partial} (scalars, arrays, {@code null}) replaces the old one.
     * Values are copied, so {@code target} never shares nodes with {@code partial}.
     */
    public static void mergeInto(ObjectNode target, ObjectNode partial) {
        Iterator<Map.Entry<String, JsonNode>> fields = partial.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode newValue = field.getValue();
            JsonNode oldValue = target.get(field.getKey());
            if (newValue.isObject() && oldValue != null && oldValue.isObject()) {
                mergeInto((ObjectNode) oldValue, (ObjectNode) newValue);
            } else {
                target.set(field.getKey(), newValue.deepCopy());
            }
        }
    }
}
