package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Instant;

/** A typed view of a {@code .fleet-enrollment-api-keys} document. */
public record EnrollmentKey(Doc doc) {

    public String id() {
        return doc.id();
    }

    public String apiKeyId() {
        return Json.text(doc.source(), "api_key_id");
    }

    /** The enrollment token ({@code base64(id:key)}) as Kibana stores it, to show to users. */
    public String apiKey() {
        return Json.text(doc.source(), "api_key");
    }

    public String policyId() {
        return Json.text(doc.source(), "policy_id");
    }

    public String name() {
        return Json.text(doc.source(), "name");
    }

    public boolean active() {
        JsonNode n = doc.source().get("active");
        return n != null && n.asBoolean(false);
    }

    /** The document of a new, active enrollment key for {@code policyId} holding the API key {@code apiKeyId}. */
    public static ObjectNode newSource(String apiKeyId, String token, String name, String policyId, Instant createdAt) {
        return Json.object().put("active", true).put("api_key_id", apiKeyId).put("api_key", token).put("name", name)
                .put("policy_id", policyId).put("created_at", Times.millis(createdAt));
    }

    /** The partial update that deactivates a key at {@code now}. */
    public static ObjectNode deactivation(Instant now) {
        return Json.object().put("active", false).put("updated_at", Times.millis(now));
    }

    /** {@code namespaces}, or {@code null} when absent. */
    public JsonNode namespaces() {
        return doc.source().get("namespaces");
    }
}
