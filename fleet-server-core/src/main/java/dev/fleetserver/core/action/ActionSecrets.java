package dev.fleetserver.core.action;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.secret.InlineSecrets;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.store.Doc;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Replaces {@code $co.elastic.secret{<id>}} in the {@code data} of actions that carry {@code secret_references}, on
 * every delivery path (the original only does it for live dispatch). The references themselves are never sent.
 */
public final class ActionSecrets {
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
            String replaced = InlineSecrets.replace(node.textValue(), values);
            return replaced == null ? node : TextNode.valueOf(replaced);
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
