package dev.fleetserver.core.manage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;

/** Checks of management request bodies; each failure is a 400 in Kibana's error shape naming the field. */
final class Bodies {
    private Bodies() {
    }

    /** The body as an object, or a 400 when it is missing or not one. */
    static ObjectNode object(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw bad("expected a JSON object body");
        }
        return (ObjectNode) body;
    }

    /** A boolean field, false when absent or null (or when the body itself is absent); a 400 when not a boolean. */
    static boolean bool(JsonNode body, String field) {
        if (body == null || body.isNull() || body.isMissingNode()) {
            return false;
        }
        JsonNode v = object(body).get(field);
        if (v != null && !v.isNull() && !v.isBoolean()) {
            throw bad("[request body." + field + "]: expected a boolean");
        }
        return v != null && v.asBoolean(false);
    }

    /** A string field that must be present and not blank. */
    static String requiredText(JsonNode body, String field) {
        JsonNode v = object(body).get(field);
        if (v == null || !v.isTextual() || v.textValue().isBlank()) {
            throw bad("[request body." + field + "]: expected a non-empty string");
        }
        return v.textValue();
    }

    static FleetException bad(String message) {
        return new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, message);
    }
}
