package dev.fleetserver.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.checkin.CheckinResponse;
import dev.fleetserver.core.checkin.JsonText;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.util.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One policy revision made ready for delivery: the POLICY_CHANGE checkin answer is serialised once, around a gap
 * for the agent id, so waking thousands of agents copies no policy bytes.
 */
public final class PreparedPolicy {
    /** The only policy keys the original emits, in its order. */
    static final List<String> EMITTED_KEYS = List.of("id", "secret_paths", "outputs", "inputs", "extensions",
            "receivers", "processors", "connectors", "exporters", "service", "revision", "agent", "signed",
            "output_permissions", "fleet");

    private final String policyId;
    private final long revision;
    private final byte[] prefix;
    private final byte[] suffix;

    private PreparedPolicy(String policyId, long revision, byte[] prefix, byte[] suffix) {
        this.policyId = policyId;
        this.revision = revision;
        this.prefix = prefix;
        this.suffix = suffix;
    }

    public static PreparedPolicy prepare(PolicyRevision rev) {
        return prepare(rev, java.util.Map.of());
    }

    /**
     * Prepares a revision with these secret values: secrets substituted and listed in {@code secret_paths},
     * {@code remote_elasticsearch} outputs sent as {@code elasticsearch} without their service token, only the
     * original's policy keys emitted (never {@code secret_references}).
     */
    public static PreparedPolicy prepare(PolicyRevision rev, java.util.Map<String, String> secrets) {
        ObjectNode data = rev.data();
        ObjectNode policy = Json.object();
        for (String key : EMITTED_KEYS) {
            JsonNode value = data.get(key);
            if (value != null) {
                policy.set(key, value.deepCopy());
            }
        }
        policy.put("id", rev.policyId());
        policy.put("revision", rev.revisionIdx());
        if (!policy.has("inputs")) {
            policy.putArray("inputs");
        }
        java.util.Set<String> secretPaths = PolicySecrets.apply(policy, secrets);
        JsonNode outputs = policy.get("outputs");
        if (outputs != null && outputs.isObject()) {
            outputs.fields().forEachRemaining(e -> {
                if (e.getValue() instanceof ObjectNode out && "remote_elasticsearch".equals(out.path("type").asText())) {
                    // The agent talks to a remote cluster like any other; the token is for this server only.
                    out.put("type", "elasticsearch");
                    out.remove("service_token");
                    secretPaths.remove("outputs." + e.getKey() + ".service_token");
                }
            });
        }
        policy.remove("secret_paths");
        if (!secretPaths.isEmpty()) {
            secretPaths.forEach(policy.withArray("secret_paths")::add);
        }
        ObjectNode action = Json.object();
        action.put("agent_id", "\u0000");
        action.put("created_at", rev.timestamp() == null ? "" : rev.timestamp());
        action.putObject("data").set("policy", policy);
        action.put("id", "policy:" + rev.policyId() + ":" + rev.revisionIdx());
        action.put("input_type", "");
        action.put("type", "POLICY_CHANGE");
        String body = "{\"ack_token\":\"\",\"action\":\"checkin\",\"actions\":[" + Json.string(action) + "]}";
        // The placeholder is the only NUL in the document: JSON escapes NULs inside real strings.
        int gap = body.indexOf("\\u0000");
        return new PreparedPolicy(rev.policyId(), rev.revisionIdx(),
                body.substring(0, gap).getBytes(StandardCharsets.UTF_8),
                body.substring(gap + "\\u0000".length()).getBytes(StandardCharsets.UTF_8));
    }

    public String policyId() {
        return policyId;
    }

    public long revision() {
        return revision;
    }

    /** The POLICY_CHANGE answer for one agent. */
    public CheckinResponse responseFor(String agentId) {
        return new CheckinResponse(prefix, JsonText.escape(agentId), suffix);
    }
}
