package dev.fleetserver.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fleetserver.core.secret.InlineSecrets;
import dev.fleetserver.core.util.Json;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Puts secret values into a policy the way the original does, once per revision: inline
 * {@code $co.elastic.secret{<id>}} in any string of the secret-bearing sections, and the path form, where a map holds
 * {@code secrets: {<path>: {id: <id>}}}. Every replaced location is listed, sorted, in {@code secret_paths}
 * (the agent redacts them in diagnostics). A secret that does not exist leaves an inline reference as it is and
 * sets a path-form target to {@code ""}, as the original.
 */
final class PolicySecrets {
    /** Sections whose strings may carry secrets. */
    static final List<String> SECTIONS = List.of("inputs", "outputs", "agent", "fleet", "receivers", "exporters",
            "processors", "connectors", "extensions", "service");

    private PolicySecrets() {
    }

    /** Replaces secrets in {@code policy} (mutated) and returns the sorted dotted paths of what was replaced. */
    static Set<String> apply(ObjectNode policy, Map<String, String> values) {
        Set<String> paths = new TreeSet<>();
        for (String section : SECTIONS) {
            JsonNode node = policy.get(section);
            if (node != null) {
                JsonNode replaced = walk(node, section, values, paths);
                policy.set(section, replaced);
            }
        }
        return paths;
    }

    private static JsonNode walk(JsonNode node, String path, Map<String, String> values, Set<String> paths) {
        if (node.isTextual()) {
            String replaced = InlineSecrets.replace(node.textValue(), values);
            if (replaced == null) {
                return node;
            }
            paths.add(path);
            return TextNode.valueOf(replaced);
        }
        if (node.isArray()) {
            ArrayNode out = Json.array();
            for (int i = 0; i < node.size(); i++) {
                out.add(walk(node.get(i), path + "." + i, values, paths));
            }
            return out;
        }
        if (node.isObject()) {
            ObjectNode out = Json.object();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getKey().equals("secrets") || !e.getValue().isObject()) {
                    out.set(e.getKey(), walk(e.getValue(), path + "." + e.getKey(), values, paths));
                }
            }
            JsonNode secrets = node.get("secrets");
            if (secrets != null && secrets.isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> it = secrets.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String id = e.getValue().path("id").asText("");
                    setPath(out, e.getKey(), values.getOrDefault(id, ""));
                    paths.add(path + "." + e.getKey());
                }
            }
            return out;
        }
        return node;
    }

    /** Sets a dotted path inside {@code target}, creating objects on the way. */
    private static void setPath(ObjectNode target, String dotted, String value) {
        String[] parts = dotted.split("\\.");
        ObjectNode cur = target;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode next = cur.get(parts[i]);
            if (!(next instanceof ObjectNode)) {
                next = cur.putObject(parts[i]);
            }
            cur = (ObjectNode) next;
        }
        cur.put(parts[parts.length - 1], value);
    }

    /** The ids a policy document refers to in {@code data.secret_references}. */
    static Set<String> referencedIds(JsonNode data) {
        Set<String> ids = new TreeSet<>();
        for (JsonNode ref : data.path("secret_references")) {
            String id = ref.path("id").asText("");
            if (!id.isEmpty()) {
                ids.add(id);
            }
        }
        return ids;
    }
}
