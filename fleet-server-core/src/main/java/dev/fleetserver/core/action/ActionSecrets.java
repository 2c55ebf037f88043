package dev.fleetserver.core.action;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.store.Doc;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces {@code $co.elastic.secret{<id>}} in the {@code data} of actions that carry {@code secret_references}, on
 * every delivery path (the original only does it for live dispatch). The references themselves are never sent.
 */
public final class ActionSecrets {
    private static final Pattern INLINE = Pattern.compile("\\$co\\.elastic\\.secret\\{([^}]*)}");

    private final SecretStore secrets;

    public ActionSecrets(SecretStore secrets) {
        this.secrets = secrets;
    }

    /** The actions with their secrets substituted; actions without references are returned as they are. */
    public CompletableFuture<List<Action>> resolve(List<Action> actions) {
        Set<String> ids = new LinkedHashSet<>();
        for (Action a : actions) {
            for (JsonNode ref : a.doc().source().path("secret_references")) {
                String id = ref.path("id").asText("");
                if (!id.isEmpty()) {
                    ids.add(id);
                }
            }
        }
        if (ids.isEmpty()) {
            return CompletableFuture.completedFuture(actions);
        }
        return secrets.values(ids).thenApply(values -> {
            List<Action> out = new ArrayList<>(actions.size());
            for (Action a : actions) {
                if (!a.doc().source().has("secret_references")) {
                    out.add(a);
                    continue;
                }
                ObjectNode source = a.doc().source().deepCopy();
                source.remove("secret_references");
                JsonNode data = source.get("data");
                if (data != null) {
                    source.set("data", substitute(data, values));
                }
                Doc d = a.doc();
                out.add(new Action(new Doc(d.index(), d.id(), d.seqNo(), d.primaryTerm(), source)));
            }
            return out;
        });
    }

    /** A copy of {@code node} with every inline reference whose value is known replaced (unknown ones stay). */
    static JsonNode substitute(JsonNode node, Map<String, String> values) {
        if (node.isTextual()) {
            Matcher m = INLINE.matcher(node.textValue());
            StringBuilder b = new StringBuilder();
            boolean changed = false;
            while (m.find()) {
                String value = values.get(m.group(1));
                m.appendReplacement(b, Matcher.quoteReplacement(value != null ? value : m.group()));
                changed |= value != null;
            }
            m.appendTail(b);
            return changed ? TextNode.valueOf(b.toString()) : node;
        }
        if (node.isObject()) {
            ObjectNode copy = ((ObjectNode) node).objectNode();
            node.fields().forEachRemaining(e -> copy.set(e.getKey(), substitute(e.getValue(), values)));
            return copy;
        }
        if (node.isArray()) {
            ArrayNode copy = ((ArrayNode) node).arrayNode();
            node.forEach(e -> copy.add(substitute(e, values)));
            return copy;
        }
        return node;
    }
}
