package dev.fleetserver.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.longpoll.CheckinResponse;
import dev.fleetserver.core.longpoll.JsonText;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.util.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One policy revision made ready for delivery: the POLICY_CHANGE checkin answer is serialised once, around gaps for
 * what differs per agent (its id, and the API key of each output whose keys this server issues), so waking thousands
 * of agents copies no policy bytes.
 */
public final class PreparedPolicy {
    /** The only policy keys the original emits, in its order. */
    static final List<String> EMITTED_KEYS = List.of("id", "secret_paths", "outputs", "inputs", "extensions",
            "receivers", "processors", "connectors", "exporters", "service", "revision", "agent", "signed",
            "output_permissions", "fleet");
    private static final String AGENT_MARK = "\"agent_id\":\"\\u0000\"";
    private static final String KEY_MARK = "\"api_key\":\"\\u0000";

    /**
     * An output whose agents each get their own API key.
     *
     * @param type            as written in the policy ({@code elasticsearch} or {@code remote_elasticsearch})
     * @param permissions     {@code output_permissions.<name>}: the key's role descriptors
     * @param permissionsHash what the agent document records, to tell when the key no longer fits
     * @param keys            where the key is created
     * @param remoteHosts     a remote output's {@code hosts} (a key of one cluster is no use in another); else null
     */
    public record KeyedOutput(String name, String type, ObjectNode permissions, String permissionsHash, ApiKeys keys,
                              com.fasterxml.jackson.databind.node.ArrayNode remoteHosts) {
    }

    private final String policyId;
    private final long revision;
    private final List<KeyedOutput> keyedOutputs;
    /** Serialised parts; between {@code segments[i]} and {@code segments[i + 1]} comes {@code gaps[i]}. */
    private final byte[][] segments;
    /**
     * -1: the agent id; {@code i >= 0}: the {@code "api_key":"id:key"} member of keyed output i; {@code -2 - i}: the
     * {@code "api_key":"<base64 of id:key>"} member of the OTel exporter {@code elasticsearch/<name of output i>}.
     */
    private final int[] gaps;
    /** Whether the output member in gap i is followed by a comma (it is omitted, comma included, without a key). */
    private final boolean[] gapComma;

    /** {@code decoded_sha256} by artifact identifier, from the inputs' {@code artifact_manifest.artifacts}. */
    private final Map<String, Set<String>> artifacts;

    private PreparedPolicy(String policyId, long revision, List<KeyedOutput> keyedOutputs, byte[][] segments,
                           int[] gaps, boolean[] gapComma, Map<String, Set<String>> artifacts) {
        this.artifacts = artifacts;
        this.policyId = policyId;
        this.revision = revision;
        this.keyedOutputs = keyedOutputs;
        this.segments = segments;
        this.gaps = gaps;
        this.gapComma = gapComma;
    }

    public static PreparedPolicy prepare(PolicyRevision rev) {
        return prepare(rev, Map.of());
    }

    public static PreparedPolicy prepare(PolicyRevision rev, Map<String, String> secrets) {
        return prepare(rev, secrets, OutputKeys.none());
    }

    /**
     * Prepares a revision with these secret values: secrets substituted and listed in {@code secret_paths},
     * {@code remote_elasticsearch} outputs sent as {@code elasticsearch} without their service token, only the
     * original's policy keys emitted (never {@code secret_references}).
     *
     * <p>An {@code elasticsearch} or {@code remote_elasticsearch} output for which {@code outputKeys} has a key port
     * and the policy has {@code output_permissions.<name>} becomes a {@link KeyedOutput}: its {@code api_key} is left
     * as a gap each agent's own key fills. Other outputs, and all outputs under {@link OutputKeys#none()}, are sent
     * as written (an output without permissions gets no key rather than failing every checkin, which is what the
     * original does; Kibana always writes permissions).
     */
    public static PreparedPolicy prepare(PolicyRevision rev, Map<String, String> secrets, OutputKeys outputKeys) {
        ObjectNode data = rev.data();
        ObjectNode policy = Json.object();
        for (String key : EMITTED_KEYS) {
            JsonNode value = data.get(key);
            if (value != null && !omitted(key, value)) {
                policy.set(key, value.deepCopy());
            }
        }
        policy.put("id", rev.policyId());
        policy.put("revision", rev.revisionIdx());
        Set<String> secretPaths = PolicySecrets.apply(policy, secrets);
        List<KeyedOutput> keyed = new ArrayList<>();
        JsonNode outputs = policy.get("outputs");
        if (outputs instanceof ObjectNode outs) {
            List<String> names = new ArrayList<>();
            outs.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                if (!(outs.get(name) instanceof ObjectNode out)) {
                    continue;
                }
                String type = out.path("type").asText("");
                boolean es = type.equals("elasticsearch") || type.equals("remote_elasticsearch");
                JsonNode perms = policy.path("output_permissions").get(name);
                Optional<ApiKeys> keys = es && perms instanceof ObjectNode ? outputKeys.forOutput(name, out) : Optional.empty();
                com.fasterxml.jackson.databind.node.ArrayNode remoteHosts = type.equals("remote_elasticsearch")
                        && out.get("hosts") instanceof com.fasterxml.jackson.databind.node.ArrayNode h ? h.deepCopy() : null;
                if (type.equals("remote_elasticsearch")) {
                    // The agent talks to a remote cluster like any other; the token is for this server only.
                    out.put("type", "elasticsearch");
                    out.remove("service_token");
                    secretPaths.remove("outputs." + name + ".service_token");
                }
                if (keys.isPresent()) {
                    // The key goes first so its gap is easy to find; whatever api_key the policy had is replaced.
                    ObjectNode withGap = Json.object();
                    withGap.put("api_key", "\u0000" + keyed.size());
                    out.remove("api_key");
                    withGap.setAll(out);
                    outs.set(name, withGap);
                    ObjectNode p = (ObjectNode) perms;
                    keyed.add(new KeyedOutput(name, type, p.deepCopy(), PermissionsHash.of(p), keys.get(), remoteHosts));
                }
            }
        }
        // OTel: the exporter of a keyed output carries the same key, base64-encoded (the original's form there).
        List<Integer> keyedExporters = new ArrayList<>();
        if (policy.get("exporters") instanceof ObjectNode exporters) {
            for (int i = 0; i < keyed.size(); i++) {
                String name = "elasticsearch/" + keyed.get(i).name();
                if (exporters.get(name) instanceof ObjectNode exporter) {
                    ObjectNode withGap = Json.object();
                    withGap.put("api_key", "\u0000e" + i);
                    exporter.remove("api_key");
                    withGap.setAll(exporter);
                    exporters.set(name, withGap);
                    keyedExporters.add(i);
                }
            }
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
        return split(rev, body, List.copyOf(keyed), keyedExporters);
    }

    /**
     * Whether the original leaves {@code key} out of the policy it sends: its policy fields are {@code omitempty}, so
     * null is left out, and so are empty lists and maps (e.g. a policy without inputs has no {@code inputs}). The two
     * that are structs there ({@code signed}, {@code service}) are left out only when null.
     */
    private static boolean omitted(String key, JsonNode value) {
        if (value.isNull()) {
            return true;
        }
        boolean struct = key.equals("signed") || key.equals("service");
        return !struct && value.isContainerNode() && value.isEmpty();
    }

    /**
     * Cuts the body at its placeholders: NULs, which JSON escapes inside every real string, so the exact member
     * texts searched for cannot come from the policy's content.
     */
    private static PreparedPolicy split(PolicyRevision rev, String body, List<KeyedOutput> keyed, List<Integer> exporters) {
        record Mark(int start, int end, int gap, boolean comma) {
        }
        List<Mark> marks = new ArrayList<>();
        int a = body.indexOf(AGENT_MARK);
        // Only the value is the gap: the member's name and quotes stay in the segments.
        int value = a + "\"agent_id\":\"".length();
        marks.add(new Mark(value, value + "\\u0000".length(), -1, false));
        for (int i = 0; i < keyed.size(); i++) {
            String mark = KEY_MARK + i + "\"";
            int s = body.indexOf(mark);
            int e = s + mark.length();
            boolean comma = body.charAt(e) == ',';
            marks.add(new Mark(s, comma ? e + 1 : e, i, comma));
        }
        for (int i : exporters) {
            String mark = KEY_MARK + "e" + i + "\"";
            int s = body.indexOf(mark);
            int e = s + mark.length();
            boolean comma = body.charAt(e) == ',';
            marks.add(new Mark(s, comma ? e + 1 : e, -2 - i, comma));
        }
        marks.sort(Comparator.comparingInt(Mark::start));
        byte[][] segments = new byte[marks.size() + 1][];
        int[] gaps = new int[marks.size()];
        boolean[] commas = new boolean[marks.size()];
        int from = 0;
        for (int i = 0; i < marks.size(); i++) {
            Mark m = marks.get(i);
            segments[i] = body.substring(from, m.start()).getBytes(StandardCharsets.UTF_8);
            gaps[i] = m.gap();
            commas[i] = m.comma();
            from = m.end();
        }
        segments[marks.size()] = body.substring(from).getBytes(StandardCharsets.UTF_8);
        return new PreparedPolicy(rev.policyId(), rev.revisionIdx(), keyed, segments, gaps, commas, artifactsOf(rev.data()));
    }

    /** The artifacts the policy's inputs list: {@code inputs[].artifact_manifest.artifacts.<id>.decoded_sha256}. */
    private static Map<String, Set<String>> artifactsOf(ObjectNode data) {
        Map<String, Set<String>> out = new java.util.HashMap<>();
        for (JsonNode input : data.path("inputs")) {
            JsonNode listed = input.path("artifact_manifest").path("artifacts");
            if (!listed.isObject()) {
                continue;
            }
            listed.fields().forEachRemaining(e -> {
                JsonNode sha = e.getValue().path("decoded_sha256");
                if (sha.isTextual()) {
                    out.computeIfAbsent(e.getKey(), k -> new java.util.HashSet<>(2)).add(sha.textValue());
                }
            });
        }
        return out.isEmpty() ? Map.of() : Map.copyOf(out);
    }

    /**
     * Whether an input of this revision lists artifact {@code identifier} with {@code decoded_sha256} equal to
     * {@code sha256} (exactly, as the original compares): what entitles an agent on the policy to download it.
     */
    public boolean listsArtifact(String identifier, String sha256) {
        Set<String> shas = artifacts.get(identifier);
        return shas != null && shas.contains(sha256);
    }

    public String policyId() {
        return policyId;
    }

    public long revision() {
        return revision;
    }

    /** The outputs whose agents each need their own key, in policy order; empty when none do. */
    public List<KeyedOutput> keyedOutputs() {
        return keyedOutputs;
    }

    /** The POLICY_CHANGE answer for one agent, without output keys. */
    public CheckinResponse responseFor(String agentId) {
        return responseFor(agentId, Map.of());
    }

    /**
     * The POLICY_CHANGE answer for one agent.
     *
     * @param outputKeys {@code id:key} by output name; a keyed output missing here is sent without {@code api_key}
     *                   (as the original does when a remote cluster could not issue one)
     */
    public CheckinResponse responseFor(String agentId, Map<String, String> outputKeys) {
        byte[][] parts = new byte[segments.length + gaps.length][];
        boolean[] shared = new boolean[parts.length];
        int n = 0;
        for (int i = 0; i < gaps.length; i++) {
            shared[n] = true;
            parts[n++] = segments[i];
            if (gaps[i] == -1) {
                parts[n++] = JsonText.escape(agentId);
                continue;
            }
            boolean exporter = gaps[i] < -1;
            String key = outputKeys.get(keyedOutputs.get(exporter ? -2 - gaps[i] : gaps[i]).name());
            if (key != null && exporter) {
                key = java.util.Base64.getEncoder().encodeToString(key.getBytes(StandardCharsets.UTF_8));
            }
            if (key != null) {
                String member = "\"api_key\":\"" + new String(JsonText.escape(key), StandardCharsets.UTF_8) + "\""
                        + (gapComma[i] ? "," : "");
                parts[n++] = member.getBytes(StandardCharsets.UTF_8);
            } else {
                parts[n++] = new byte[0];
            }
        }
        shared[n] = true;
        parts[n] = segments[segments.length - 1];
        return new CheckinResponse(parts, shared);
    }
}
