package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;

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

    /** {@code namespaces}, or {@code null} when absent. */
    public JsonNode namespaces() {
        return doc.source().get("namespaces");
    }
}
