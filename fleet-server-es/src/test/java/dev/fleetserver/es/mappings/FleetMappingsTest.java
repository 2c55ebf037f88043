package dev.fleetserver.es.mappings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Sanity checks for the {@code PUT /<index>} bodies under {@code /mappings/}. */
class FleetMappingsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static final List<String> INDICES = List.of(
            ".fleet-agents",
            ".fleet-actions",
            ".fleet-actions-results",
            ".fleet-policies",
            ".fleet-enrollment-api-keys",
            ".fleet-artifacts",
            ".fleet-secrets");

    private static JsonNode load(String index) {
        String path = "/mappings/" + index + ".json";
        try (InputStream in = FleetMappingsTest.class.getResourceAsStream(path)) {
            assertNotNull(in, "missing classpath resource " + path);
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new AssertionError("cannot parse " + path, e);
        }
    }

    /** Walks {@code properties} along a dotted path, e.g. {@code agent.version}. */
    private static JsonNode field(JsonNode mappings, String dotted) {
        JsonNode node = mappings;
        for (String part : dotted.split("\\.")) {
            JsonNode props = node.get("properties");
            if (props == null || props.get(part) == null) {
                fail("field [" + dotted + "] not mapped (missing [" + part + "])");
            }
            node = props.get(part);
        }
        return node;
    }

    /** Declared type; an object mapping without explicit type is "object". */
    private static String typeOf(JsonNode field) {
        JsonNode t = field.get("type");
        if (t != null) {
            return t.asText();
        }
        return field.has("properties") || field.has("enabled") || field.has("dynamic") ? "object" : "";
    }

    private static void assertTypes(JsonNode mappings, Map<String, String> expected) {
        expected.forEach((name, type) ->
                assertEquals(type, typeOf(field(mappings, name)), "type of [" + name + "]"));
    }

    private static void assertDisabledObject(JsonNode mappings, String name) {
        JsonNode f = field(mappings, name);
        assertEquals("object", typeOf(f), "type of [" + name + "]");
        assertTrue(f.has("enabled") && !f.get("enabled").asBoolean(), "[" + name + "] must have enabled:false");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            ".fleet-agents",
            ".fleet-actions",
            ".fleet-actions-results",
            ".fleet-policies",
            ".fleet-enrollment-api-keys",
            ".fleet-artifacts",
            ".fleet-secrets"})
    void everyIndexHasAWellFormedCreateIndexBody(String index) {
        JsonNode body = load(index);
        Iterator<String> top = body.fieldNames();
        while (top.hasNext()) {
            String k = top.next();
            assertTrue(k.equals("settings") || k.equals("mappings"), index + ": unexpected top-level key " + k);
        }

        JsonNode settings = body.path("settings").path("index");
        assertEquals(1, settings.path("number_of_shards").asInt(), index + ": number_of_shards");
        assertEquals("0-1", settings.path("auto_expand_replicas").asText(), index + ": auto_expand_replicas");

        JsonNode mappings = body.get("mappings");
        assertNotNull(mappings, index + ": mappings");
        assertFalse(mappings.has("_doc"), index + ": mappings must be typeless");
        JsonNode dynamic = mappings.get("dynamic");
        assertNotNull(dynamic, index + ": mappings.dynamic");
        assertTrue((dynamic.isBoolean() && !dynamic.asBoolean()) || "strict".equals(dynamic.asText())
                        || "false".equals(dynamic.asText()),
                index + ": mappings.dynamic must be false or strict, was " + dynamic);
        assertTrue(mappings.path("_meta").path("version").isTextual(), index + ": _meta.version");
        assertTrue(mappings.path("_meta").path("managed_index_mappings_version").isInt(),
                index + ": _meta.managed_index_mappings_version");
        assertTrue(mappings.path("properties").size() > 0, index + ": properties");

        String raw = body.toString();
        assertFalse(raw.contains("${"), index + ": unreplaced template placeholder");
    }

    @Test
    void theAgentsIndexMapsItsFieldsAsFleetDoes() {
        JsonNode m = load(".fleet-agents").get("mappings");
        assertTypes(m, Map.ofEntries(
                Map.entry("access_api_key_id", "keyword"),
                Map.entry("policy_id", "keyword"),
                Map.entry("agent_policy_id", "keyword"),
                Map.entry("enrollment_id", "keyword"),
                Map.entry("agent.id", "keyword"),
                Map.entry("agent.version", "keyword"),
                Map.entry("tags", "keyword"),
                Map.entry("type", "keyword"),
                Map.entry("last_checkin_status", "keyword"),
                Map.entry("active", "boolean"),
                Map.entry("enrolled_at", "date"),
                Map.entry("last_checkin", "date"),
                Map.entry("updated_at", "date"),
                Map.entry("unenrolled_at", "date"),
                Map.entry("upgraded_at", "date"),
                Map.entry("upgrade_started_at", "date"),
                Map.entry("policy_revision_idx", "long"),
                Map.entry("action_seq_no", "long"),
                Map.entry("local_metadata", "object"),
                Map.entry("local_metadata.elastic.agent.id", "keyword"),
                Map.entry("local_metadata.elastic.agent.version", "text"),
                Map.entry("local_metadata.host.hostname", "text"),
                Map.entry("local_metadata.os.platform", "keyword"),
                Map.entry("outputs", "object"),
                Map.entry("upgrade_details", "object"),
                Map.entry("upgrade_details.action_id", "keyword"),
                Map.entry("upgrade_details.state", "keyword"),
                Map.entry("upgrade_details.target_version", "text"),
                Map.entry("upgrade_details.metadata.scheduled_at", "date"),
                Map.entry("upgrade_details.metadata.download_percent", "double"),
                Map.entry("upgrade_details.metadata.failed_state", "keyword"),
                Map.entry("upgrade_details.metadata.error_msg", "text")));
        assertDisabledObject(m, "components");
        assertDisabledObject(m, "user_provided_metadata");

        // outputs.<name>.{api_key, api_key_id, permissions_hash, type, to_retire_api_key_ids[]}:
        // keyed by output name, so mapped through dynamic templates under a dynamic object.
        assertTrue(field(m, "outputs").path("dynamic").asBoolean(), "outputs must be a dynamic object");
        JsonNode templates = m.get("dynamic_templates");
        assertNotNull(templates, "agents dynamic_templates");
        boolean stringsAsKeyword = false;
        boolean retiredAtDate = false;
        for (JsonNode t : templates) {
            JsonNode def = t.elements().next();
            String pm = def.path("path_match").asText();
            String type = def.path("mapping").path("type").asText();
            if (pm.equals("outputs.*") && type.equals("keyword")) {
                stringsAsKeyword = true;
            }
            if (pm.equals("outputs.*.to_retire_api_key_ids.retired_at") && type.equals("date")) {
                retiredAtDate = true;
            }
        }
        assertTrue(stringsAsKeyword, "outputs.* strings must map to keyword");
        assertTrue(retiredAtDate, "outputs.*.to_retire_api_key_ids.retired_at must map to date");
    }

    @Test
    void theActionsIndexMapsItsFieldsAsFleetDoes() {
        JsonNode m = load(".fleet-actions").get("mappings");
        assertTypes(m, Map.ofEntries(
                Map.entry("action_id", "keyword"),
                Map.entry("agents", "keyword"),
                Map.entry("type", "keyword"),
                Map.entry("input_type", "keyword"),
                Map.entry("user_id", "keyword"),
                Map.entry("@timestamp", "date"),
                Map.entry("expiration", "date"),
                Map.entry("start_time", "date"),
                Map.entry("rollout_duration_seconds", "integer"),
                Map.entry("timeout", "integer"),
                Map.entry("minimum_execution_duration", "integer"),
                Map.entry("signed.data", "binary"),
                Map.entry("signed.signature", "binary")));
        assertDisabledObject(m, "data");
    }

    @Test
    void theActionResultsIndexMapsItsFieldsAsFleetDoes() {
        JsonNode m = load(".fleet-actions-results").get("mappings");
        assertTypes(m, Map.of(
                "action_id", "keyword",
                "agent_id", "keyword",
                "@timestamp", "date",
                "started_at", "date",
                "completed_at", "date",
                "error", "text"));
        assertEquals("keyword", field(m, "error").path("fields").path("keyword").path("type").asText(),
                "error.keyword");
        assertDisabledObject(m, "data");
        assertDisabledObject(m, "action_data");
    }

    @Test
    void thePoliciesIndexMapsItsFieldsAsFleetDoes() {
        JsonNode m = load(".fleet-policies").get("mappings");
        assertTypes(m, Map.of(
                "policy_id", "keyword",
                "revision_idx", "long",
                "coordinator_idx", "long",
                "@timestamp", "date",
                "default_fleet_server", "boolean"));
        assertDisabledObject(m, "data");
    }

    @Test
    void theEnrollmentKeysIndexMapsItsFieldsAsFleetDoes() {
        JsonNode m = load(".fleet-enrollment-api-keys").get("mappings");
        assertTypes(m, Map.of(
                "api_key_id", "keyword",
                "api_key", "keyword",
                "policy_id", "keyword",
                "name", "keyword",
                "active", "boolean",
                "created_at", "date",
                "expire_at", "date",
                "updated_at", "date"));
    }

    @Test
    void theArtifactsIndexMapsItsFieldsAsFleetDoes() {
        JsonNode m = load(".fleet-artifacts").get("mappings");
        assertTypes(m, Map.of(
                "identifier", "keyword",
                "decoded_sha256", "keyword",
                "encoded_sha256", "keyword",
                "created", "date",
                "body", "binary"));
    }

    @Test
    void theSecretsIndexMapsItsValueAsAKeyword() {
        JsonNode m = load(".fleet-secrets").get("mappings");
        assertTypes(m, Map.of("value", "keyword"));
    }

    @Test
    void everyFleetIndexHasAMapping() {
        for (String index : INDICES) {
            assertNotNull(FleetMappingsTest.class.getResource("/mappings/" + index + ".json"), index);
        }
    }
}
