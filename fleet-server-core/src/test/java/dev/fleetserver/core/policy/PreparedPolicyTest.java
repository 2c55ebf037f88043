package dev.fleetserver.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.longpoll.CheckinResponse;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PreparedPolicyTest {

    private static PolicyRevision revision(String json) throws Exception {
        ObjectNode source = (ObjectNode) Json.MAPPER.readTree(json);
        String id = source.path("policy_id").asText() + ":" + source.path("revision_idx").asLong();
        return new PolicyRevision(new Doc(FleetIndex.POLICIES, id, 7, 1, source));
    }

    private static PolicyRevision simple() throws Exception {
        return revision("{\"@timestamp\":\"2024-05-01T12:00:00.000Z\",\"policy_id\":\"p1\",\"revision_idx\":3,"
                + "\"data\":{\"id\":\"p1\",\"revision\":3,\"outputs\":{\"default\":{\"type\":\"elasticsearch\"}},"
                + "\"inputs\":[{\"id\":\"in1\"}],\"agent\":{\"monitoring\":{}},\"bogus\":{\"x\":1},\"secret_references\":[]}}");
    }

    private static JsonNode parse(CheckinResponse r) throws Exception {
        return Json.MAPPER.readTree(r.toBytes());
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void theAnswerIsValidJsonWithOnePolicyChangeAction() throws Exception {
        JsonNode body = parse(PreparedPolicy.prepare(simple()).responseFor("agent-1"));

        assertThat(fieldNames(body)).containsExactly("ack_token", "action", "actions");
        assertThat(body.get("ack_token").asText()).isEmpty();
        assertThat(body.get("action").asText()).isEqualTo("checkin");
        assertThat(body.get("actions")).hasSize(1);
    }

    @Test
    void theActionHasTheOriginalsKeysInTheOriginalsOrder() throws Exception {
        JsonNode action = parse(PreparedPolicy.prepare(simple()).responseFor("agent-1")).get("actions").get(0);

        assertThat(fieldNames(action)).containsExactly("agent_id", "created_at", "data", "id", "input_type", "type");
        assertThat(action.get("agent_id").asText()).isEqualTo("agent-1");
        assertThat(action.get("created_at").asText()).isEqualTo("2024-05-01T12:00:00.000Z");
        assertThat(action.get("id").asText()).isEqualTo("policy:p1:3");
        assertThat(action.get("input_type").asText()).isEmpty();
        assertThat(action.get("type").asText()).isEqualTo("POLICY_CHANGE");
        assertThat(fieldNames(action.get("data"))).containsExactly("policy");
    }

    @Test
    void onlyTheEmittedPolicyKeysSurvive() throws Exception {
        JsonNode policy = parse(PreparedPolicy.prepare(simple()).responseFor("a")).at("/actions/0/data/policy");

        assertThat(fieldNames(policy)).containsExactlyInAnyOrder("id", "outputs", "inputs", "agent", "revision");
        assertThat(policy.get("outputs").get("default").get("type").asText()).isEqualTo("elasticsearch");
        assertThat(policy.get("inputs").get(0).get("id").asText()).isEqualTo("in1");
        assertThat(PreparedPolicy.EMITTED_KEYS).doesNotContain("bogus", "secret_references");
    }

    @Test
    void everyEmittedKeyIsPassedThrough() throws Exception {
        ObjectNode data = Json.object();
        for (String k : PreparedPolicy.EMITTED_KEYS) {
            data.putObject(k).put("k", k);
        }
        ObjectNode src = Json.object().put("policy_id", "p9").put("revision_idx", 2);
        src.set("data", data);
        JsonNode policy = parse(PreparedPolicy.prepare(new PolicyRevision(new Doc(FleetIndex.POLICIES, "p9:2", 1, 1, src)))
                .responseFor("a")).at("/actions/0/data/policy");

        // secret_paths is not passed through: it lists what this server substituted (nothing here).
        assertThat(fieldNames(policy)).containsExactlyInAnyOrderElementsOf(
                PreparedPolicy.EMITTED_KEYS.stream().filter(k -> !k.equals("secret_paths")).toList());
        assertThat(policy.get("fleet").get("k").asText()).isEqualTo("fleet");
    }

    @Test
    void policyIdAndRevisionComeFromTheDocumentNotFromItsData() throws Exception {
        PolicyRevision rev = revision("{\"policy_id\":\"p1\",\"revision_idx\":5,"
                + "\"data\":{\"id\":\"stale\",\"revision\":4,\"outputs\":{}}}");

        PreparedPolicy prepared = PreparedPolicy.prepare(rev);
        JsonNode action = parse(prepared.responseFor("a")).at("/actions/0");

        assertThat(prepared.policyId()).isEqualTo("p1");
        assertThat(prepared.revision()).isEqualTo(5);
        assertThat(action.get("id").asText()).isEqualTo("policy:p1:5");
        assertThat(action.at("/data/policy/id").asText()).isEqualTo("p1");
        assertThat(action.at("/data/policy/revision").asLong()).isEqualTo(5);
    }

    @Test
    void emptyOrNullPolicySectionsAreLeftOutAsTheOriginalDoes() throws Exception {
        PolicyRevision rev = revision("{\"policy_id\":\"p1\",\"revision_idx\":1,\"data\":{\"outputs\":{},"
                + "\"inputs\":[],\"agent\":null,\"fleet\":{\"hosts\":[]},\"signed\":{}}}");

        JsonNode policy = parse(PreparedPolicy.prepare(rev).responseFor("a")).at("/actions/0/data/policy");

        assertThat(fieldNames(policy)).containsExactlyInAnyOrder("id", "revision", "fleet", "signed");
    }

    @Test
    void aRevisionWithoutDataOrTimestampStillGivesAValidAnswer() throws Exception {
        PolicyRevision rev = revision("{\"policy_id\":\"p1\",\"revision_idx\":1}");

        JsonNode action = parse(PreparedPolicy.prepare(rev).responseFor("a")).at("/actions/0");

        assertThat(action.get("created_at").asText()).isEmpty();
        assertThat(fieldNames(action.at("/data/policy"))).containsExactlyInAnyOrder("id", "revision");
    }

    @Test
    void anAgentIdNeedingEscapingIsEscaped() throws Exception {
        String agentId = "we\"ird\\id\n\u0001é✓";
        CheckinResponse r = PreparedPolicy.prepare(simple()).responseFor(agentId);

        JsonNode action = parse(r).at("/actions/0");

        assertThat(action.get("agent_id").asText()).isEqualTo(agentId);
        assertThat(r.toString()).contains("\"agent_id\":\"we\\\"ird\\\\id\\n\\u0001é✓\"");
    }

    @Test
    void nulCharactersInsideThePolicyDoNotMoveTheAgentId() throws Exception {
        PolicyRevision rev = revision("{\"policy_id\":\"p1\",\"revision_idx\":1,"
                + "\"data\":{\"agent\":{\"nul\":\"a\\u0000b\",\"text\":\"\\\\u0000\"}}}");

        JsonNode action = parse(PreparedPolicy.prepare(rev).responseFor("agent-1")).at("/actions/0");

        assertThat(action.get("agent_id").asText()).isEqualTo("agent-1");
        assertThat(action.at("/data/policy/agent/nul").asText()).isEqualTo("a\u0000b");
        assertThat(action.at("/data/policy/agent/text").asText()).isEqualTo("\\u0000");
    }

    @Test
    void thePolicyIsSerialisedOnceAndSharedBetweenAgents() throws Exception {
        PreparedPolicy prepared = PreparedPolicy.prepare(simple());

        CheckinResponse a = prepared.responseFor("a");
        CheckinResponse b = prepared.responseFor("b");

        assertThat(a.parts()[0]).isSameAs(b.parts()[0]);
        assertThat(a.parts()[a.parts().length - 1]).isSameAs(b.parts()[b.parts().length - 1]);
        assertThat(parse(b).at("/actions/0/agent_id").asText()).isEqualTo("b");
        assertThat(parse(a).at("/actions/0/data")).isEqualTo(parse(b).at("/actions/0/data"));
    }

    private static PreparedPolicy keyed(String outputsJson) throws Exception {
        PolicyRevision rev = revision("{\"policy_id\":\"p1\",\"revision_idx\":1,\"data\":{\"outputs\":" + outputsJson
                + ",\"output_permissions\":{\"a\":{\"r\":{}},\"b\":{\"r\":{}}}}}");
        dev.fleetserver.core.apikey.ApiKeys none = new AgentOutputKeysTest.RecordingKeys("k");
        return PreparedPolicy.prepare(rev, java.util.Map.of(), dev.fleetserver.core.apikey.OutputKeys.of(none, null));
    }

    @Test
    void eachKeyedOutputHasAGapForTheAgentsOwnKeyAndTheRestIsShared() throws Exception {
        PreparedPolicy prepared = keyed("{\"a\":{\"type\":\"elasticsearch\",\"hosts\":[\"h\"],\"api_key\":\"old\"},"
                + "\"b\":{\"type\":\"elasticsearch\"},\"c\":{\"type\":\"logstash\"}}");

        CheckinResponse one = prepared.responseFor("x", java.util.Map.of("a", "id1:k\"1", "b", "id2:k2"));
        CheckinResponse two = prepared.responseFor("y", java.util.Map.of("a", "id3:k3", "b", "id4:k4"));

        JsonNode outputs = parse(one).at("/actions/0/data/policy/outputs");
        assertThat(prepared.keyedOutputs()).extracting(PreparedPolicy.KeyedOutput::name).containsExactly("a", "b");
        assertThat(outputs.at("/a/api_key").asText()).isEqualTo("id1:k\"1");
        assertThat(outputs.at("/a/hosts/0").asText()).isEqualTo("h");
        assertThat(outputs.at("/b/api_key").asText()).isEqualTo("id2:k2");
        assertThat(outputs.at("/c").has("api_key")).isFalse();
        assertThat(parse(two).at("/actions/0/data/policy/outputs/a/api_key").asText()).isEqualTo("id3:k3");
        for (int i = 0; i < one.parts().length; i += 2) {
            assertThat(one.parts()[i]).isSameAs(two.parts()[i]);
        }
    }

    @Test
    void aKeyedOutputWithoutAKeyForThisAgentIsSentWithoutApiKey() throws Exception {
        PreparedPolicy prepared = keyed("{\"a\":{\"type\":\"elasticsearch\"},\"b\":{\"type\":\"elasticsearch\"}}");

        JsonNode outputs = parse(prepared.responseFor("x", java.util.Map.of("b", "id:k"))).at("/actions/0/data/policy/outputs");

        assertThat(outputs.get("a")).isEqualTo(Json.MAPPER.readTree("{\"type\":\"elasticsearch\"}"));
        assertThat(outputs.at("/b/api_key").asText()).isEqualTo("id:k");
        assertThat(parse(prepared.responseFor("x")).at("/actions/0/data/policy/outputs/b").has("api_key")).isFalse();
    }

    @Test
    void theOtelExporterOfAKeyedOutputGetsTheSameKeyInBase64() throws Exception {
        PolicyRevision rev = revision("{\"policy_id\":\"p1\",\"revision_idx\":1,\"data\":{"
                + "\"outputs\":{\"a\":{\"type\":\"elasticsearch\"}},\"output_permissions\":{\"a\":{\"r\":{}}},"
                + "\"exporters\":{\"elasticsearch/a\":{\"endpoints\":[\"h\"]},\"debug\":{}}}}");
        PreparedPolicy prepared = PreparedPolicy.prepare(rev, java.util.Map.of(),
                dev.fleetserver.core.apikey.OutputKeys.of(new AgentOutputKeysTest.RecordingKeys("k"), null));

        JsonNode policy = parse(prepared.responseFor("x", java.util.Map.of("a", "id:key"))).at("/actions/0/data/policy");

        assertThat(policy.at("/outputs/a/api_key").asText()).isEqualTo("id:key");
        assertThat(policy.at("/exporters/elasticsearch~1a/api_key").asText())
                .isEqualTo(java.util.Base64.getEncoder().encodeToString("id:key".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertThat(policy.at("/exporters/elasticsearch~1a/endpoints/0").asText()).isEqualTo("h");
        assertThat(policy.at("/exporters/debug")).isEqualTo(Json.object());
        assertThat(parse(prepared.responseFor("x")).at("/actions/0/data/policy/exporters/elasticsearch~1a").has("api_key")).isFalse();
    }
}
