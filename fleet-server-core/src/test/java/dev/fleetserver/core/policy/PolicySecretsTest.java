package dev.fleetserver.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A revision prepared for agents: secrets in, references out, remote outputs made plain. */
class PolicySecretsTest {

    @Test
    void inlineAndPathFormSecretsAreSubstitutedAndListedSorted() throws Exception {
        JsonNode body = prepare("""
                {"secret_references":[{"id":"s1"},{"id":"s2"},{"id":"s3"}],
                 "outputs":{"default":{"type":"elasticsearch","password":"$co.elastic.secret{s1}"}},
                 "inputs":[{"id":"in","streams":[{"id":"st","secrets":{"auth.token":{"id":"s2"}}}]}],
                 "fleet":{"ssl":{"key":"$co.elastic.secret{s3}"}},
                 "agent":{"download":{"sourceURI":"https://user:$co.elastic.secret{missing}@host"}}}""",
                Map.of("s1", "pw1", "s2", "tok2", "s3", "KEY3"));
        JsonNode policy = body.at("/actions/0/data/policy");

        assertThat(policy.at("/outputs/default/password").asText()).isEqualTo("pw1");
        assertThat(policy.at("/inputs/0/streams/0/auth/token").asText()).isEqualTo("tok2");
        assertThat(policy.at("/inputs/0/streams/0").has("secrets")).isFalse();
        assertThat(policy.at("/fleet/ssl/key").asText()).isEqualTo("KEY3");
        assertThat(policy.at("/agent/download/sourceURI").asText()).contains("$co.elastic.secret{missing}");
        assertThat(policy.get("secret_paths")).isEqualTo(Json.MAPPER.readTree(
                "[\"fleet.ssl.key\",\"inputs.0.streams.0.auth.token\",\"outputs.default.password\"]"));
        assertThat(policy.has("secret_references")).isFalse();
    }

    @Test
    void aMissingPathFormSecretBecomesEmpty() throws Exception {
        JsonNode policy = prepare("{\"inputs\":[{\"secrets\":{\"password\":{\"id\":\"gone\"}}}]}", Map.of())
                .at("/actions/0/data/policy");
        assertThat(policy.at("/inputs/0/password").asText()).isEmpty();
    }

    @Test
    void aRemoteElasticsearchOutputIsSentAsElasticsearchWithoutItsServiceToken() throws Exception {
        JsonNode policy = prepare("""
                {"secret_references":[{"id":"tok"}],
                 "outputs":{"remote":{"type":"remote_elasticsearch","hosts":["https://remote:9200"],
                   "service_token":"$co.elastic.secret{tok}"},
                  "ls":{"type":"logstash","hosts":["ls:5044"]}}}""", Map.of("tok", "AAE"))
                .at("/actions/0/data/policy");
        assertThat(policy.at("/outputs/remote/type").asText()).isEqualTo("elasticsearch");
        assertThat(policy.at("/outputs/remote").has("service_token")).isFalse();
        assertThat(policy.has("secret_paths")).isFalse();
        assertThat(policy.at("/outputs/ls")).isEqualTo(Json.MAPPER.readTree("{\"type\":\"logstash\",\"hosts\":[\"ls:5044\"]}"));
    }

    private static JsonNode prepare(String data, Map<String, String> secrets) throws Exception {
        ObjectNode doc = Json.object();
        doc.put("policy_id", "p");
        doc.put("revision_idx", 3);
        doc.put("@timestamp", "2026-01-01T00:00:00.000Z");
        doc.set("data", Json.MAPPER.readTree(data));
        PreparedPolicy prepared = PreparedPolicy.prepare(new PolicyRevision(new Doc(FleetIndex.POLICIES, "p:3", 1, 1, doc)), secrets);
        return Json.MAPPER.readTree(prepared.responseFor("agent-1").toBytes());
    }
}
