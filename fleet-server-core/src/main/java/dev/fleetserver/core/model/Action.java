package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
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
}
