package dev.fleetserver.core.action;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.util.Json;
import java.util.List;
import java.util.Map;

/**
 * Renders an action document as the checkin answer's action object: the original's field set and order, {@code data}
 * cut down to the keys the type defines ({@code null} for UNENROLL), {@code input_type} always present.
 */
public final class ActionFormatter {
    private static final Map<String, List<String>> DATA_KEYS = Map.of(
            "UPGRADE", List.of("version", "source_uri", "rollback"),
            "SETTINGS", List.of("log_level"),
            "CANCEL", List.of("target_id"),
            "POLICY_REASSIGN", List.of("policy_id"),
            "REQUEST_DIAGNOSTICS", List.of("additional_metrics", "exclude_events_log"),
            "MIGRATE", List.of("enrollment_token", "target_uri", "settings"),
            "PRIVILEGE_LEVEL_CHANGE", List.of("unprivileged", "user_info"));

    private ActionFormatter() {
    }

    public static ObjectNode format(Action action, String agentId) {
        ObjectNode out = Json.object();
        out.put("agent_id", agentId);
        out.put("created_at", Json.text(action.doc().source(), "@timestamp") == null ? "" : Json.text(action.doc().source(), "@timestamp"));
        out.set("data", data(action));
        putIfText(out, "expiration", action.field("expiration"));
        out.put("id", action.actionId());
        JsonNode inputType = action.field("input_type");
        out.put("input_type", inputType != null && inputType.isTextual() ? inputType.textValue() : "");
        JsonNode signed = action.field("signed");
        if (signed != null && signed.isObject() && !signed.isEmpty()) {
            out.set("signed", signed);
        }
        String start = startTime(action, agentId);
        if (start != null) {
            out.put("start_time", start);
        }
        JsonNode timeout = action.field("timeout");
        if (timeout != null && timeout.isNumber() && timeout.asLong() != 0) {
            out.put("timeout", timeout.asLong());
        }
        putIfText(out, "traceparent", action.field("traceparent"));
        out.put("type", action.type());
        return out;
    }

    /**
     * A scheduled action spread over its rollout window: agent {@code i} of {@code n} starts
     * {@code rollout_duration_seconds * i / n} after {@code start_time}. Applied on every delivery path (the original
     * forgets it for actions read at checkin).
     */
    static String startTime(Action action, String agentId) {
        JsonNode start = action.field("start_time");
        if (start == null || !start.isTextual() || start.textValue().isEmpty()) {
            return null;
        }
        JsonNode rollout = action.field("rollout_duration_seconds");
        long window = rollout != null && rollout.isNumber() ? rollout.asLong() : 0;
        java.time.Instant t = dev.fleetserver.core.util.Times.parse(start.textValue());
        if (window <= 0 || t == null) {
            return start.textValue();
        }
        java.util.List<String> agents = action.agents();
        int i = Math.max(0, agents.indexOf(agentId));
        long offset = window * i / Math.max(1, agents.size());
        return dev.fleetserver.core.util.Times.seconds(t.plusSeconds(offset));
    }

    private static JsonNode data(Action action) {
        String type = action.type();
        JsonNode data = action.field("data");
        if ("UNENROLL".equals(type) || data == null || data.isNull()) {
            return NullNode.getInstance();
        }
        List<String> keys = DATA_KEYS.get(type);
        if (keys == null || !data.isObject()) {
            return data;
        }
        ObjectNode out = Json.object();
        for (String k : keys) {
            JsonNode v = data.get(k);
            if (v != null && !v.isNull()) {
                out.set(k, v);
            }
        }
        return out;
    }

    private static void putIfText(ObjectNode out, String key, JsonNode value) {
        if (value != null && value.isTextual() && !value.textValue().isEmpty()) {
            out.put(key, value.textValue());
        }
    }
}
