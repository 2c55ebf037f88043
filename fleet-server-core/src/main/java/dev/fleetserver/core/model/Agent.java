package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;

/**
 * A typed, read-only view of a {@code .fleet-agents} document. Fields Kibana may have written that this view does
 * not name are kept untouched in {@link #source()}; writers only ever send partial updates.
 */
public record Agent(Doc doc) {

    public String id() {
        return doc.id();
    }

    public long seqNo() {
        return doc.seqNo();
    }

    public ObjectNode source() {
        return doc.source();
    }

    public boolean active() {
        JsonNode n = doc.source().get("active");
        return n != null && n.asBoolean(false);
    }

    public String policyId() {
        return Json.text(doc.source(), "policy_id");
    }

    public String agentPolicyId() {
        return Json.text(doc.source(), "agent_policy_id");
    }

    public long policyRevisionIdx() {
        JsonNode n = doc.source().get("policy_revision_idx");
        return n != null && n.isNumber() ? n.asLong() : 0;
    }

    public String accessApiKeyId() {
        return Json.text(doc.source(), "access_api_key_id");
    }

    /** True when the {@code agent} sub-object exists (the original answers ErrAgentCorrupted otherwise). */
    public boolean hasAgentSection() {
        JsonNode n = doc.source().get("agent");
        return n != null && n.isObject();
    }

    public String agentVersion() {
        return Json.text(doc.source(), "agent.version");
    }

    /** The first element of {@code action_seq_no}, or -1 (deliver everything) when absent. */
    public long actionSeqNo() {
        JsonNode n = doc.source().get("action_seq_no");
        if (n != null && n.isArray() && !n.isEmpty()) {
            return n.get(0).asLong(-1);
        }
        if (n != null && n.isNumber()) {
            return n.asLong();
        }
        return -1;
    }

    public String replaceToken() {
        return Json.text(doc.source(), "replace_token");
    }

    public JsonNode localMetadata() {
        return doc.source().get("local_metadata");
    }

    public JsonNode components() {
        return doc.source().get("components");
    }

    public String lastCheckinStatus() {
        return Json.text(doc.source(), "last_checkin_status");
    }

    public JsonNode unhealthyReason() {
        return doc.source().get("unhealthy_reason");
    }
}
