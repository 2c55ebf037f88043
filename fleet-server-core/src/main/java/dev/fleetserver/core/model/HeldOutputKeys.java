package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The output-key entries of an agent document ({@code outputs.<name>}), as much of them as decides whether a policy
 * delivery needs the document at all. A parked checkin keeps them (its own checkin read the document moments before
 * it parked), so that waking it for a revision whose outputs need no new key and drop no entry reads nothing: on
 * Elasticsearch a policy fan-out would otherwise read every woken agent's document. They stay as current as a read
 * at wake: an agent's stored keys change only by a delivery to that agent (its own checkins, which supersede this
 * one) and replaced keys stay valid until the agent has acked the revision that replaced them.
 */
public final class HeldOutputKeys {
    /** An agent without entries. */
    public static final HeldOutputKeys NONE = new HeldOutputKeys(new Entry[0]);

    /**
     * One output's entry.
     *
     * @param type  the output type recorded with the key, or null when the entry has none
     * @param hosts the remote output's hosts recorded with the key, or null
     */
    public record Entry(String name, String apiKey, String permissionsHash, String type, JsonNode hosts) {
    }

    private final Entry[] entries;

    private HeldOutputKeys(Entry[] entries) {
        this.entries = entries;
    }

    /** What {@code agent}'s document holds; {@code share} may hand out shared instances of repeated strings. */
    public static HeldOutputKeys of(Agent agent, UnaryOperator<String> share) {
        JsonNode stored = agent.source().path("outputs");
        if (!stored.isObject() || stored.isEmpty()) {
            return NONE;
        }
        List<Entry> list = new ArrayList<>(stored.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = stored.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (v.isObject()) {
                JsonNode type = v.get("type");
                list.add(new Entry(share.apply(e.getKey()), v.path("api_key").asText(""),
                        share.apply(v.path("permissions_hash").asText("")),
                        type == null || type.isNull() ? null : share.apply(type.asText()), v.get("hosts")));
            }
        }
        return list.isEmpty() ? NONE : new HeldOutputKeys(list.toArray(Entry[]::new));
    }

    /** The entry of the output named {@code name} (the last one, should a document name it twice), or null. */
    public Entry entry(String name) {
        Entry found = null;
        for (Entry e : entries) {
            if (e.name().equals(name)) {
                found = e;
            }
        }
        return found;
    }

    /** How many entries there are. */
    public int size() {
        return entries.length;
    }
}
