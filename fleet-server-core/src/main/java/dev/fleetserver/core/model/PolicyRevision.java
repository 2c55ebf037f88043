package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Instant;

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

    /** {@code name}, or null. */
    public String name() {
        return Json.text(doc.source(), "name");
    }

    /** {@code namespace}, or null. */
    public String namespace() {
        return Json.text(doc.source(), "namespace");
    }

    /** {@code description}, or null. */
    public JsonNode description() {
        JsonNode n = doc.source().get("description");
        return n == null || n.isNull() ? null : n;
    }

    /** Kibana's {@code is_managed}: false when absent. */
    public boolean managed() {
        return doc.source().path("is_managed").asBoolean(false);
    }

    /** Kibana's {@code is_default_fleet_server}, stored as {@code default_fleet_server}: false when absent. */
    public boolean defaultFleetServer() {
        return doc.source().path("default_fleet_server").asBoolean(false);
    }

    /**
     * The document of revision {@code revision} of {@code policyId}, written at {@code timestamp}: {@code data} is the
     * agent-facing content (its {@code id} and {@code revision} set here), {@code meta} the descriptive fields and
     * Kibana's flags, which replace the defaults (not managed, not the default Fleet Server policy).
     */
    public static ObjectNode newSource(String policyId, long revision, Instant timestamp, ObjectNode meta, ObjectNode data) {
        ObjectNode content = Json.object().put("id", policyId).put("revision", revision);
        content.setAll(data);
        ObjectNode doc = Json.object().put("@timestamp", Times.millis(timestamp)).put("policy_id", policyId)
                .put("revision_idx", revision).put("coordinator_idx", 0);
        doc.set("data", content);
        doc.put("default_fleet_server", false).put("is_managed", false).setAll(meta);
        return doc;
    }

    /** The document id of a revision: {@code <policy id>:<revision>}. */
    public static String docId(String policyId, long revision) {
        return policyId + ":" + revision;
    }

    /** The agent-facing policy content ({@code data}); an empty object when absent. */
    public ObjectNode data() {
        JsonNode n = doc.source().get("data");
        return n instanceof ObjectNode o ? o : Json.object();
    }
}
