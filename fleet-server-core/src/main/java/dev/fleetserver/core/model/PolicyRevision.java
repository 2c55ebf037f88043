package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;

/** A typed view of one {@code .fleet-policies} document: one revision of one agent policy. */
public record PolicyRevision(Doc doc) {

    public String policyId() {
        return Json.text(doc.source(), "policy_id");
    }

    public long revisionIdx() {
        JsonNode n = doc.source().get("revision_idx");
        return n != null && n.isNumber() ? n.asLong() : 0;
    }

    /** The {@code @timestamp} as written, used as the POLICY_CHANGE {@code created_at}. */
    public String timestamp() {
        return Json.text(doc.source(), "@timestamp");
    }

    /** The agent-facing policy content ({@code data}); an empty object when absent. */
    public ObjectNode data() {
        JsonNode n = doc.source().get("data");
        return n instanceof ObjectNode o ? o : Json.object();
    }
}
