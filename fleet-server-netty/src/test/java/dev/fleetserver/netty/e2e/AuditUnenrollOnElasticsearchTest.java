package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The audit tests again on a real Elasticsearch, and the documents audit and acks leave in {@code .fleet-agents} and
 * {@code .fleet-actions-results}, read from the cluster itself: the original's fields with the original's types, which
 * the indices' mappings index as such.
 */
class AuditUnenrollOnElasticsearchTest extends AuditUnenrollTest {
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();

    /** JSON types of the original's schema: string, date-time (an RFC 3339 string), string[] and raw (any JSON). */
    private static final Map<String, String> AGENT_AUDIT_FIELDS = Map.of(
            "audit_unenrolled_reason", "string",
            "audit_unenrolled_time", "date-time",
            "updated_at", "date-time");
    private static final Set<String> AUDIT_REASONS = Set.of("uninstall", "orphaned", "key_revoked", "migrated", "reenrolled");
    private static final Map<String, String> ACTION_RESULT_FIELDS = Map.ofEntries(
            Map.entry("@timestamp", "date-time"),
            Map.entry("agent_id", "string"),
            Map.entry("action_id", "string"),
            Map.entry("action_input_type", "string"),
            Map.entry("namespaces", "string[]"),
            Map.entry("started_at", "date-time"),
            Map.entry("completed_at", "date-time"),
            Map.entry("action_data", "raw"),
            Map.entry("action_response", "raw"),
            Map.entry("error", "string"),
            Map.entry("data", "raw"));

    @Override
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.onElasticsearch(() -> cluster);
    }

    private JsonNode source(String index, String id) throws Exception {
        return Json.MAPPER.readTree(cluster.request("GET", "/" + index + "/_doc/" + id, null)).get("_source");
    }

    /** Hits of {@code query} in {@code index}, once everything written is searchable. */
    private long hits(String index, String query) throws Exception {
        cluster.request("POST", "/" + index + "/_refresh", null);
        JsonNode r = Json.MAPPER.readTree(cluster.request("POST", "/" + index + "/_search", "{\"query\":" + query + "}"));
        return r.at("/hits/total/value").asLong();
    }

    private static void assertType(String field, JsonNode value, String type) {
        switch (type) {
            case "string" -> assertThat(value.isTextual()).as(field + " = " + value).isTrue();
            case "date-time" -> {
                assertThat(value.isTextual()).as(field + " = " + value).isTrue();
                assertThat(OffsetDateTime.parse(value.textValue(), DateTimeFormatter.ISO_OFFSET_DATE_TIME)).as(field).isNotNull();
            }
            case "string[]" -> {
                assertThat(value.isArray()).as(field + " = " + value).isTrue();
                value.forEach(v -> assertThat(v.isTextual()).as(field + " = " + value).isTrue());
            }
            case "raw" -> assertThat(value.isMissingNode()).as(field).isFalse();
            default -> throw new AssertionError(type);
        }
    }

    @Test
    void theAuditMarksAreTheOriginalsFieldsIndexedAsTheMappingSaysAndTheNextCheckinRemovesThemFromTheSource() throws Exception {
        Enrolled a = enrolledAndOnline();
        assertThat(fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", "2024-01-01T13:00:00.250+01:00").status())
                .isEqualTo(200);

        JsonNode doc = source(".fleet-agents", a.id());
        AGENT_AUDIT_FIELDS.forEach((field, type) -> assertType(field, doc.path(field), type));
        assertThat(AUDIT_REASONS).contains(doc.get("audit_unenrolled_reason").asText());
        assertThat(doc.get("audit_unenrolled_time").asText()).isEqualTo("2024-01-01T13:00:00.25+01:00");
        String agentQuery = "{\"bool\":{\"filter\":[{\"term\":{\"_id\":\"" + a.id() + "\"}},";
        assertThat(hits(".fleet-agents", agentQuery + "{\"term\":{\"audit_unenrolled_reason\":\"uninstall\"}}]}}")).isEqualTo(1);
        assertThat(hits(".fleet-agents", agentQuery
                + "{\"range\":{\"audit_unenrolled_time\":{\"gte\":\"2024-01-01T12:00:00.250Z\",\"lte\":\"2024-01-01T12:00:00.250Z\"}}}]}}"))
                .isEqualTo(1);

        checkInAgain(a);

        JsonNode after = source(".fleet-agents", a.id());
        for (String removed : new String[] {"audit_unenrolled_reason", "audit_unenrolled_time", "unenrolled_at"}) {
            assertThat(after.has(removed)).as(removed + " in " + after).isFalse();
        }
        assertThat(after.at("/agent/id").asText()).isEqualTo(a.id());
        assertThat(after.get("policy_id").asText()).isEqualTo(policyId);
        assertThat(hits(".fleet-agents", agentQuery + "{\"exists\":{\"field\":\"audit_unenrolled_reason\"}}]}}")).isZero();
    }

    @Test
    void actionResultsAreTheOriginalsFieldsWithTheAgentsTimesAndTheActionsSpaces() throws Exception {
        Enrolled a = enrolledAndOnline();
        Instant expiry = Instant.now().plusSeconds(3600);
        ObjectNode input = E2eSupport.action("input-" + a.id(), "INPUT_ACTION", a.id(), expiry, Json.object().put("query", "select 1"));
        input.put("input_type", "osquery");
        input.putArray("namespaces").add("default").add("space-b");
        E2eSupport.indexAction(fleet.daemon(), "input-doc-" + a.id(), input);
        ObjectNode diag = E2eSupport.action("diag-" + a.id(), "REQUEST_DIAGNOSTICS", a.id(), expiry, null);
        diag.putArray("namespaces").add("space-b");
        E2eSupport.indexAction(fleet.daemon(), "diag-doc-" + a.id(), diag);

        ObjectNode body = AgentClient.ackEvents(a.id(), "input-" + a.id(), "diag-" + a.id());
        ObjectNode inputEvent = (ObjectNode) body.get("events").get(0);
        inputEvent.put("action_input_type", "osquery");
        inputEvent.set("action_data", Json.object().put("query", "select 1"));
        inputEvent.set("action_response", Json.object().set("osquery", Json.object().put("count", 1)));
        inputEvent.put("started_at", "2026-01-01T00:59:58.100000+01:00");
        inputEvent.put("completed_at", "2026-01-01T00:00:00Z");
        ObjectNode diagEvent = (ObjectNode) body.get("events").get(1);
        diagEvent.putObject("data").put("upload_id", "upload-1");
        diagEvent.put("error", "disk full");
        AgentClient.Reply r = fleet.agent().acks(a.id(), a.key(), body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);

        JsonNode in = source(".fleet-actions-results", "input-" + a.id() + ":" + a.id());
        JsonNode dg = source(".fleet-actions-results", "diag-" + a.id() + ":" + a.id());
        for (JsonNode result : new JsonNode[] {in, dg}) {
            Iterator<Map.Entry<String, JsonNode>> fields = result.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                assertThat(ACTION_RESULT_FIELDS).as("a field of the original's action results").containsKey(f.getKey());
                assertType(f.getKey(), f.getValue(), ACTION_RESULT_FIELDS.get(f.getKey()));
            }
        }
        // The event's own time (ackEvents: 2026-01-01T00:00:00.123456789+01:00), as Go writes it back.
        assertThat(in.get("@timestamp").asText()).isEqualTo("2026-01-01T00:00:00.123456789+01:00");
        assertThat(in.get("namespaces")).isEqualTo(Json.array().add("default").add("space-b"));
        assertThat(in.get("started_at").asText()).isEqualTo("2026-01-01T00:59:58.1+01:00");
        assertThat(in.get("completed_at").asText()).isEqualTo("2026-01-01T00:00:00Z");
        assertThat(in.get("action_input_type").asText()).isEqualTo("osquery");
        assertThat(in.has("data")).isFalse();
        assertThat(dg.get("data")).isEqualTo(Json.object().put("upload_id", "upload-1"));
        assertThat(dg.get("error").asText()).isEqualTo("disk full");
        assertThat(dg.has("started_at")).isFalse();

        String mine = "{\"bool\":{\"filter\":[{\"term\":{\"agent_id\":\"" + a.id() + "\"}},";
        assertThat(hits(".fleet-actions-results", mine + "{\"term\":{\"namespaces\":\"space-b\"}}]}}")).isEqualTo(2);
        assertThat(hits(".fleet-actions-results", mine
                + "{\"range\":{\"@timestamp\":{\"gte\":\"2025-12-31T23:00:00.123Z\",\"lte\":\"2025-12-31T23:00:00.123Z\"}}}]}}"))
                .isEqualTo(2);
        assertThat(hits(".fleet-actions-results", mine
                + "{\"range\":{\"started_at\":{\"lt\":\"2026-01-01T00:00:00Z\"}}},{\"range\":{\"completed_at\":{\"gte\":\"2026-01-01T00:00:00Z\"}}}]}}"))
                .isEqualTo(1);
    }
}
