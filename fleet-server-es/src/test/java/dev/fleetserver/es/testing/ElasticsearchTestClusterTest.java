package dev.fleetserver.es.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayNameGeneration;
import org.junit.jupiter.api.DisplayNameGenerator;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

@DisplayNameGeneration(DisplayNameGenerator.ReplaceUnderscores.class)
class ElasticsearchTestClusterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static ElasticsearchTestCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = ElasticsearchTestCluster.shared();
    }

    private static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    /** Waits a little; false once the deadline has passed. */
    private static boolean pause(long deadlineNanos) {
        if (System.nanoTime() >= deadlineNanos) {
            return false;
        }
        try {
            TimeUnit.MILLISECONDS.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return true;
    }

    private static String bearer() {
        return "Bearer " + cluster.serviceToken();
    }

    @Test
    void theSharedClusterIsHealthyAndRequiresAuthentication() {
        JsonNode health = json(cluster.request("GET", "/_cluster/health", null));
        assertThat(health.path("status").asText()).isIn("green", "yellow");
        assertThat(health.path("cluster_name").asText()).isEqualTo(ElasticsearchTestCluster.CLUSTER_NAME);
        assertThat(cluster.running()).isTrue();
        assertThat(cluster.httpUri()).isEqualTo("http://127.0.0.1:" + cluster.httpPort());
        assertThat(ElasticsearchTestCluster.shared()).isSameAs(cluster);

        assertThat(cluster.send("GET", "/_cluster/health", null, null).statusCode()).isEqualTo(401);
        assertThat(cluster.send("GET", "/_cluster/health", null,
            ElasticsearchTestCluster.basic(cluster.adminUser(), "wrong-password")).statusCode()).isEqualTo(401);

        JsonNode admin = json(cluster.request("GET", "/_security/_authenticate", null));
        assertThat(admin.path("username").asText()).isEqualTo(cluster.adminUser());
        assertThat(admin.path("roles").toString()).contains("superuser");
    }

    @Test
    void theServiceTokenAuthenticatesAsTheFleetServerServiceAccount() {
        HttpResponse<String> response = cluster.send("GET", "/_security/_authenticate", null, bearer());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(json(response.body()).path("username").asText()).isEqualTo("elastic/fleet-server");

        assertThat(cluster.send("GET", "/_security/_authenticate", null, "Bearer AAEAAWVsYXN0aWMvbm9wZQ")
            .statusCode()).isEqualTo(401);
    }

    @Test
    void theServiceTokenCreatesAnApiKeyThatAuthenticatesUntilInvalidated() {
        String body = """
            {"name":"test-agent-key",
             "role_descriptors":{"fleet-apikey-access":{"cluster":[],"applications":[
               {"application":"fleet","privileges":["no-privileges"],"resources":["*"]}]}},
             "metadata":{"managed_by":"fleet","managed":true,"type":"access","agent_id":"agent-1"}}""";
        HttpResponse<String> created = cluster.send("POST", "/_security/api_key?refresh=false", body, bearer());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
        JsonNode key = json(created.body());
        String id = key.path("id").asText();
        String apiKey = "ApiKey " + Base64.getEncoder().encodeToString(
            (id + ":" + key.path("api_key").asText()).getBytes(StandardCharsets.UTF_8));
        assertThat(key.path("encoded").asText()).isEqualTo(apiKey.substring("ApiKey ".length()));

        HttpResponse<String> authenticated = cluster.send("GET", "/_security/_authenticate", null, apiKey);
        assertThat(authenticated.statusCode()).as(authenticated.body()).isEqualTo(200);
        JsonNode who = json(authenticated.body());
        assertThat(who.path("api_key").path("id").asText()).isEqualTo(id);
        assertThat(who.path("authentication_type").asText()).isEqualTo("api_key");

        // Invalidation finds keys with a search: a key created with refresh=false becomes visible to it only after
        // the next refresh of .security (1 s interval), so retry, within a deadline.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        HttpResponse<String> invalidated;
        do {
            invalidated = cluster.send("DELETE", "/_security/api_key",
                "{\"ids\":[\"" + id + "\"],\"owner\":true}", bearer());
            assertThat(invalidated.statusCode()).as(invalidated.body()).isEqualTo(200);
        } while (!json(invalidated.body()).path("invalidated_api_keys").toString().contains(id)
            && pause(deadline));
        assertThat(json(invalidated.body()).path("invalidated_api_keys").toString()).contains(id);

        assertThat(cluster.send("GET", "/_security/_authenticate", null, apiKey).statusCode()).isEqualTo(401);
    }

    @Test
    void theServiceTokenManagesFleetIndicesAndReadsTheirCheckpoints() {
        cluster.request("DELETE", "/.fleet-agents?ignore_unavailable=true", null);
        HttpResponse<String> created = cluster.send("PUT", "/.fleet-agents", """
            {"settings":{"number_of_shards":1,"number_of_replicas":0},
             "mappings":{"dynamic":false,"properties":{
               "agent_id":{"type":"keyword"},"active":{"type":"boolean"},
               "enrolled_at":{"type":"date"},"local_metadata":{"type":"object","enabled":false}}}}""", bearer());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(200);

        for (int i = 1; i <= 3; i++) {
            HttpResponse<String> indexed = cluster.send("PUT", "/.fleet-agents/_doc/agent-" + i + "?refresh=true",
                "{\"agent_id\":\"agent-" + i + "\",\"active\":" + (i != 2)
                    + ",\"enrolled_at\":\"2025-01-0" + i + "T00:00:00Z\",\"local_metadata\":{\"host\":\"h" + i + "\"}}",
                bearer());
            assertThat(indexed.statusCode()).as(indexed.body()).isEqualTo(201);
        }

        HttpResponse<String> search = cluster.send("POST", "/.fleet-agents/_search",
            "{\"query\":{\"term\":{\"active\":true}},\"sort\":[{\"enrolled_at\":\"asc\"}]}", bearer());
        assertThat(search.statusCode()).as(search.body()).isEqualTo(200);
        JsonNode hits = json(search.body()).path("hits").path("hits");
        assertThat(hits).extracting(hit -> hit.path("_id").asText()).containsExactly("agent-1", "agent-3");
        assertThat(hits.get(0).path("_source").path("local_metadata").path("host").asText()).isEqualTo("h1");

        HttpResponse<String> stats = cluster.send("GET", "/.fleet-agents/_stats/docs?level=shards", null, bearer());
        assertThat(stats.statusCode()).as(stats.body()).isEqualTo(200);
        JsonNode shard = json(stats.body()).path("indices").path(".fleet-agents").path("shards").path("0").get(0);
        assertThat(shard.path("routing").path("primary").asBoolean()).isTrue();
        assertThat(shard.path("seq_no").path("global_checkpoint").asLong()).isEqualTo(2);
        assertThat(shard.path("seq_no").path("max_seq_no").asLong()).isEqualTo(2);
    }

    @Test
    void aSeparateClusterKeepsItsDataPortAndCredentialsAcrossARestart() {
        // A separate cluster, so that restarting it does not disturb other users of the shared one.
        ElasticsearchTestCluster separate = ElasticsearchTestCluster.startNew();
        try {
            assertThat(separate.httpPort()).isNotEqualTo(cluster.httpPort());
            separate.request("PUT", "/restart-test/_doc/1?refresh=true", "{\"value\":\"kept\"}");
            int port = separate.httpPort();

            separate.restart();

            assertThat(separate.running()).isTrue();
            assertThat(separate.httpPort()).isEqualTo(port);
            JsonNode doc = json(separate.request("GET", "/restart-test/_doc/1", null));
            assertThat(doc.path("found").asBoolean()).isTrue();
            assertThat(doc.path("_source").path("value").asText()).isEqualTo("kept");
            assertThat(separate.send("GET", "/_security/_authenticate", null, "Bearer " + separate.serviceToken())
                .statusCode()).isEqualTo(200);
        } finally {
            separate.stop();
        }
        assertThat(separate.running()).isFalse();
        separate.stop(); // idempotent
        assertThat(separate.instanceDir()).doesNotExist();
        assertThat(cluster.running()).isTrue();
    }
}
