package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** A typed view of a {@code .fleet-actions} document. Its {@code _id} is the ack token; {@code action_id} is what agents see. */
public record Action(Doc doc) {
    /** The only action types ever delivered to agents (the original's allow-list). */
    public static final Set<String> DELIVERABLE_TYPES = Set.of("CANCEL", "INPUT_ACTION", "POLICY_REASSIGN",
            "REQUEST_DIAGNOSTICS", "SETTINGS", "UNENROLL", "UPGRADE", "MIGRATE", "PRIVILEGE_LEVEL_CHANGE");

    public String docId() {
        return doc.id();
    }

    public long seqNo() {
        return doc.seqNo();
    }

    public String actionId() {
        return Json.text(doc.source(), "action_id");
    }

    public String type() {
        return Json.text(doc.source(), "type");
    }

    public boolean deliverable() {
        String t = type();
        return t != null && DELIVERABLE_TYPES.contains(t);
    }

    /** Expiration instant, or {@code null} when absent or malformed (such actions are never delivered). */
    public Instant expiration() {
        return Times.parse(Json.text(doc.source(), "expiration"));
    }

    public boolean expiredAt(Instant now) {
        Instant exp = expiration();
        return exp == null || !exp.isAfter(now);
    }

    public List<String> agents() {
        JsonNode n = doc.source().get("agents");
        List<String> out = new ArrayList<>();
        if (n != null && n.isArray()) {
            n.forEach(a -> out.add(a.asText()));
        }
        return out;
    }

    public JsonNode field(String name) {
        return doc.source().get(name);
    }

    /**
     * One document of a new action as Kibana writes it: {@code action_id}, {@code type}, {@code @timestamp},
     * {@code expiration}, the {@code agents} it is for, its {@code data} unless null, and {@code extra} fields
     * ({@code start_time}, {@code rollout_duration_seconds}, …).
     */
    public static ObjectNode newSource(String actionId, String type, Instant created, Instant expiration, List<String> agents,
                                       JsonNode data, ObjectNode extra) {
        ObjectNode doc = Json.object();
        doc.put("action_id", actionId);
        doc.put("type", type);
        doc.put("@timestamp", Times.millis(created));
        doc.put("expiration", Times.millis(expiration));
        ArrayNode list = doc.putArray("agents");
        agents.forEach(list::add);
        if (data != null && !data.isNull()) {
            doc.set("data", data);
        }
        doc.setAll(extra);
        return doc;
    }
}
