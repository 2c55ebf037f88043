package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Each agent's own output API keys, on a real Elasticsearch: what the key may do is checked by asking Elasticsearch
 * with the key itself ({@code _security/user/_has_privileges}), and retirement by reading the key's state.
 */
class OutputApiKeysOnElasticsearchTest {
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
    private final String tag = UUID.randomUUID().toString().substring(0, 8);
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.onElasticsearch(cluster);

    /** One enrolled agent: its id, access key and the policy revision it has. */
    private final class Agent {
        final String id;
        final String key;
        final String policy;
        long revision;

        Agent(String policy) {
            this.policy = policy;
            JsonNode item = fleet.agent().enroll(enrollmentToken(policy));
            this.id = item.get("id").asText();
            this.key = item.get("access_api_key").asText();
        }

        /** Checks in until the POLICY_CHANGE of revision {@code rev} arrives; returns its policy. */
        JsonNode policyChange(long rev) {
            String expected = "policy:" + policy + ":" + rev;
            JsonNode[] got = new JsonNode[1];
            E2eSupport.await(Duration.ofSeconds(30), id + " receives " + expected, () -> {
                ObjectNode body = AgentClient.checkinBody("online");
                body.put("agent_policy_id", policy);
                body.put("policy_revision_idx", revision);
                AgentClient.Reply r = fleet.agent().checkin(id, key, body);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                JsonNode action = r.json().at("/actions/0");
                if (expected.equals(action.path("id").asText())) {
                    got[0] = action.at("/data/policy");
                    return true;
                }
                return false;
            });
            return got[0];
        }

        void ack(long rev) {
            AgentClient.Reply r = fleet.agent().acks(id, key, AgentClient.ackEvents(id, "policy:" + policy + ":" + rev));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            revision = rev;
        }

        JsonNode doc() {
            try {
                return Json.MAPPER.readTree(cluster.request("GET", "/.fleet-agents/_doc/" + id, null)).get("_source");
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    private String enrollmentToken(String policy) {
        return E2eSupport.management(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"" + policy + "\"}").json().at("/item/api_key").asText();
    }

    private void putPolicy(String method, String path, String body) {
        AgentClient.Reply r = E2eSupport.management(fleet.daemon(), method, path, body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    /** Permission to write documents into data streams matching {@code pattern}, as Kibana grants an output. */
    private static String permission(String pattern) {
        return "{\"_elastic_agent_checks\":{\"cluster\":[\"monitor\"]},\"_elastic_agent_monitoring\":{\"indices\":[]},"
                + "\"data\":{\"indices\":[{\"names\":[\"" + pattern + "\"],\"privileges\":[\"auto_configure\",\"create_doc\"]}]}}";
    }

    private String esOutput() {
        return "{\"type\":\"elasticsearch\",\"hosts\":[\"" + cluster.httpUri() + "\"]}";
    }

    /** Whether Elasticsearch lets the holder of {@code idColonKey} {@code create_doc} into {@code index}. */
    private boolean canCreateDoc(String idColonKey, String index) throws Exception {
        String auth = "ApiKey " + Base64.getEncoder().encodeToString(idColonKey.getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = cluster.send("POST", "/_security/user/_has_privileges",
                "{\"index\":[{\"names\":[\"" + index + "\"],\"privileges\":[\"create_doc\"]}]}", auth);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.MAPPER.readTree(r.body()).at("/index/" + index.replace("/", "~1") + "/create_doc").asBoolean();
    }

    private JsonNode apiKey(String id) throws Exception {
        return Json.MAPPER.readTree(cluster.request("GET", "/_security/api_key?id=" + id, null)).at("/api_keys/0");
    }

    private static String keyId(JsonNode policy, String output) {
        return policy.at("/outputs/" + output + "/api_key").asText().split(":")[0];
    }

    @Test
    void eachAgentGetsItsOwnKeyPerOutputWithExactlyThePolicysPrivileges() throws Exception {
        String policy = "keys-" + tag;
        putPolicy("POST", "/api/fleet/agent_policies", "{\"id\":\"" + policy + "\",\"name\":\"" + policy + "\","
                + "\"outputs\":{\"default\":" + esOutput() + ",\"metrics\":" + esOutput() + "},"
                + "\"output_permissions\":{\"default\":" + permission("logs-" + tag + "-*") + ","
                + "\"metrics\":" + permission("metrics-" + tag + "-*") + "}}");
        Agent a = new Agent(policy);
        Agent b = new Agent(policy);

        JsonNode forA = a.policyChange(1);
        JsonNode forB = b.policyChange(1);

        String aDefault = forA.at("/outputs/default/api_key").asText();
        String aMetrics = forA.at("/outputs/metrics/api_key").asText();
        String bDefault = forB.at("/outputs/default/api_key").asText();
        assertThat(aDefault).contains(":");
        assertThat(java.util.Set.of(aDefault, aMetrics, bDefault)).hasSize(3);
        assertThat(canCreateDoc(aDefault, "logs-" + tag + "-default")).isTrue();
        assertThat(canCreateDoc(aDefault, "metrics-" + tag + "-default")).isFalse();
        assertThat(canCreateDoc(aDefault, "other-" + tag)).isFalse();
        assertThat(canCreateDoc(aMetrics, "metrics-" + tag + "-default")).isTrue();
        assertThat(canCreateDoc(aMetrics, "logs-" + tag + "-default")).isFalse();
        assertThat(canCreateDoc(bDefault, "logs-" + tag + "-default")).isTrue();

        JsonNode key = apiKey(keyId(forA, "default"));
        assertThat(key.get("name").asText()).isEqualTo(a.id + ":default");
        assertThat(key.at("/metadata/agent_id").asText()).isEqualTo(a.id);
        assertThat(key.at("/metadata/type").asText()).isEqualTo("output");
        assertThat(key.at("/metadata/managed_by").asText()).isEqualTo("fleet-server");
        JsonNode stored = a.doc().at("/outputs/default");
        assertThat(stored.get("api_key_id").asText()).isEqualTo(keyId(forA, "default"));
        assertThat(stored.get("type").asText()).isEqualTo("elasticsearch");
        assertThat(stored.get("permissions_hash").asText()).hasSize(64);
    }

    @Test
    void changedPermissionsRotateTheKeyAndTheOldOneIsInvalidatedAfterTheAckButARevisionBumpKeepsIt() throws Exception {
        String policy = "rotate-" + tag;
        String path = "/api/fleet/agent_policies/" + policy;
        putPolicy("POST", "/api/fleet/agent_policies", "{\"id\":\"" + policy + "\",\"name\":\"" + policy + "\","
                + "\"outputs\":{\"default\":" + esOutput() + "},"
                + "\"output_permissions\":{\"default\":" + permission("logs-" + tag + "-*") + "}}");
        Agent a = new Agent(policy);
        String first = a.policyChange(1).at("/outputs/default/api_key").asText();
        a.ack(1);

        putPolicy("PUT", path, "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}");
        String afterBump = a.policyChange(2).at("/outputs/default/api_key").asText();
        a.ack(2);
        assertThat(afterBump).as("same permissions, same key").isEqualTo(first);
        assertThat(Json.MAPPER.readTree(cluster.request("GET", "/_security/api_key?name=" + a.id + ":default", null))
                .get("api_keys")).hasSize(1);

        putPolicy("PUT", path, "{\"output_permissions\":{\"default\":" + permission("traces-" + tag + "-*") + "}}");
        String rotated = a.policyChange(3).at("/outputs/default/api_key").asText();
        assertThat(rotated).isNotEqualTo(first);
        assertThat(canCreateDoc(rotated, "traces-" + tag + "-x")).isTrue();
        assertThat(canCreateDoc(rotated, "logs-" + tag + "-x")).isFalse();
        String oldId = first.split(":")[0];
        assertThat(a.doc().at("/outputs/default/to_retire_api_key_ids/0/id").asText()).isEqualTo(oldId);
        assertThat(apiKey(oldId).get("invalidated").asBoolean()).as("the agent still runs revision 2").isFalse();

        a.ack(3);

        assertThat(apiKey(oldId).get("invalidated").asBoolean()).isTrue();
        assertThat(apiKey(rotated.split(":")[0]).get("invalidated").asBoolean()).isFalse();
        assertThat(canCreateDoc(rotated, "traces-" + tag + "-x")).isTrue();
        assertThat(a.doc().at("/outputs/default/to_retire_api_key_ids")).isEmpty();
    }

    @Test
    void anOutputRemovedFromThePolicyHasItsKeyInvalidated() throws Exception {
        String policy = "removed-" + tag;
        putPolicy("POST", "/api/fleet/agent_policies", "{\"id\":\"" + policy + "\",\"name\":\"" + policy + "\","
                + "\"outputs\":{\"default\":" + esOutput() + ",\"extra\":" + esOutput() + "},"
                + "\"output_permissions\":{\"default\":" + permission("logs-" + tag + "-*") + ","
                + "\"extra\":" + permission("extra-" + tag + "-*") + "}}");
        Agent a = new Agent(policy);
        JsonNode first = a.policyChange(1);
        a.ack(1);

        putPolicy("PUT", "/api/fleet/agent_policies/" + policy, "{\"outputs\":{\"default\":" + esOutput() + "},"
                + "\"output_permissions\":{\"default\":" + permission("logs-" + tag + "-*") + "}}");
        JsonNode second = a.policyChange(2);

        assertThat(second.at("/outputs").has("extra")).isFalse();
        assertThat(second.at("/outputs/default/api_key").asText()).isEqualTo(first.at("/outputs/default/api_key").asText());
        assertThat(apiKey(keyId(first, "extra")).get("invalidated").asBoolean()).isTrue();
        assertThat(a.doc().at("/outputs").has("extra")).as("entry removed, not nulled").isFalse();
        assertThat(apiKey(keyId(first, "default")).get("invalidated").asBoolean()).isFalse();
    }

    @Test
    void aRemoteOutputsKeyComesFromTheRemoteClusterAndItsTokenNeverReachesTheAgent() throws Exception {
        String policy = "remote-" + tag;
        String secretId = "remote-token-" + tag;
        cluster.request("PUT", "/.fleet-secrets/_doc/" + secretId + "?refresh=true",
                "{\"value\":\"" + cluster.serviceToken() + "\"}");
        putPolicy("POST", "/api/fleet/agent_policies", "{\"id\":\"" + policy + "\",\"name\":\"" + policy + "\","
                + "\"secret_references\":[{\"id\":\"" + secretId + "\"}],"
                + "\"outputs\":{\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"" + cluster.httpUri() + "\"],"
                + "\"service_token\":\"$co.elastic.secret{" + secretId + "}\"}},"
                + "\"output_permissions\":{\"far\":" + permission("logs-" + tag + "-*") + "}}");
        Agent a = new Agent(policy);

        JsonNode sent = a.policyChange(1);

        JsonNode far = sent.at("/outputs/far");
        assertThat(far.get("type").asText()).isEqualTo("elasticsearch");
        assertThat(far.has("service_token")).isFalse();
        assertThat(sent.toString()).doesNotContain(cluster.serviceToken());
        String key = far.get("api_key").asText();
        assertThat(canCreateDoc(key, "logs-" + tag + "-x")).isTrue();
        assertThat(canCreateDoc(key, "metrics-" + tag + "-x")).isFalse();
        assertThat(apiKey(key.split(":")[0]).get("name").asText()).isEqualTo(a.id + ":far");
        assertThat(a.doc().at("/outputs/far/type").asText()).isEqualTo("remote_elasticsearch");
    }

    @Test
    void aParkedAgentIsWokenWithTheKeyMadeForTheNewPermissions() throws Exception {
        String policy = "parked-" + tag;
        putPolicy("POST", "/api/fleet/agent_policies", "{\"id\":\"" + policy + "\",\"name\":\"" + policy + "\","
                + "\"outputs\":{\"default\":" + esOutput() + "},"
                + "\"output_permissions\":{\"default\":" + permission("logs-" + tag + "-*") + "}}");
        Agent a = new Agent(policy);
        String first = a.policyChange(1).at("/outputs/default/api_key").asText();
        a.ack(1);
        ObjectNode body = AgentClient.checkinBody("online");
        body.put("agent_policy_id", policy);
        body.put("policy_revision_idx", 1);
        var parked = new AgentClient(fleet.port()).checkinAsync(a.id, a.key, body);
        E2eSupport.await(Duration.ofSeconds(15), "checkin parked",
                () -> fleet.daemon().core().checkin().registry().forAgent(a.id) != null);

        putPolicy("PUT", "/api/fleet/agent_policies/" + policy,
                "{\"output_permissions\":{\"default\":" + permission("metrics-" + tag + "-*") + "}}");

        JsonNode woken = parked.get(30, java.util.concurrent.TimeUnit.SECONDS).json().at("/actions/0");
        assertThat(woken.get("id").asText()).isEqualTo("policy:" + policy + ":2");
        String key = woken.at("/data/policy/outputs/default/api_key").asText();
        assertThat(key).isNotEqualTo(first);
        assertThat(canCreateDoc(key, "metrics-" + tag + "-x")).isTrue();
        assertThat(canCreateDoc(key, "logs-" + tag + "-x")).isFalse();
    }
}
