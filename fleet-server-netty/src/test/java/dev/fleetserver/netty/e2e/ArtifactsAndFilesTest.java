package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static dev.fleetserver.netty.e2e.E2eSupport.management;
import static dev.fleetserver.netty.e2e.E2eSupport.managementOk;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.artifact.ArtifactFixtures;
import dev.fleetserver.core.util.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Elastic Defend's artifacts and files delivered to agents, end to end through the agent's HTTP client: here on the
 * embedded store (artifacts and files published through the management API), on Elasticsearch in a subclass (written
 * as Kibana writes them).
 */
class ArtifactsAndFilesTest {
    @RegisterExtension
    final TestFleetExtension fleet = newFleet();
    String policy;

    /**
     * The server under test, before its settings: on the embedded store here, on Elasticsearch in a subclass. Called
     * while the test instance is made, before a subclass's own fields are set.
     */
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.embedded();
    }

    /** Stores an artifact document ({@code .fleet-artifacts}). */
    protected void storeArtifact(ObjectNode doc) {
        managementOk(fleet.daemon(), "PUT", "/api/fleet/artifacts/" + doc.get("identifier").asText(), Json.string(doc));
    }

    /** Publishes {@code content} for {@code agents}; returns the file's id. */
    protected String publishFile(List<String> agents, byte[] content, String mimeType) {
        ObjectNode body = Json.object().put("name", "file.bin").put("mime_type", mimeType);
        agents.forEach(body.putArray("agents")::add);
        String id = managementOk(fleet.daemon(), "POST", "/api/fleet/files", Json.string(body)).at("/item/id").asText();
        HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.daemon().managementPort()
                        + "/api/fleet/files/" + id + "/blob"))
                .header("Authorization", "Bearer " + fleet.daemon().managementToken())
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(content)).build();
        AgentClient.Reply r = new AgentClient(fleet.daemon().managementPort()).send(put);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().at("/item/status").asText()).isEqualTo("READY");
        assertThat(r.json().at("/item/sha256").asText()).isEqualTo(ArtifactFixtures.sha256(content));
        return id;
    }

    // --- helpers ---

    /** A new policy whose one input lists the artifacts; returns its id. */
    String policyListing(ObjectNode... artifacts) {
        String id = "policy-" + UUID.randomUUID();
        ObjectNode body = Json.object().put("id", id).put("name", id);
        ObjectNode listed = body.putArray("inputs").addObject().put("id", "endpoint-" + id).put("type", "endpoint")
                .putObject("artifact_manifest").put("manifest_version", "1.0.0").put("schema_version", "v1")
                .putObject("artifacts");
        for (ObjectNode a : artifacts) {
            ObjectNode entry = listed.putObject(a.get("identifier").asText());
            for (String f : List.of("encryption_algorithm", "decoded_sha256", "decoded_size", "encoded_sha256", "encoded_size",
                    "compression_algorithm")) {
                entry.set(f, a.get(f));
            }
            entry.put("relative_url", "/api/fleet/artifacts/" + a.get("identifier").asText() + "/" + a.get("decoded_sha256").asText());
        }
        managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", Json.string(body));
        return id;
    }

    /** Enrolls an agent into {@code policyId}. */
    E2eSupport.Enrolled enrollInto(String policyId) {
        String token = managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"" + policyId + "\"}").at("/item/api_key").asText();
        JsonNode item = fleet.agent().enroll(token);
        return new E2eSupport.Enrolled(item.get("id").asText(), item.get("access_api_key").asText());
    }

    AgentClient.Reply getArtifact(String key, String identifier, String sha) {
        return fleet.agent().send(fleet.agent().request("/api/fleet/artifacts/" + identifier + "/" + sha)
                .header("Authorization", "ApiKey " + key).GET().build());
    }

    AgentClient.Reply getFile(String key, String fileId, String query, String range, String origin) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.port() + "/api/fleet/file/" + fileId
                        + (query == null ? "" : "?" + query)))
                .header("Authorization", "ApiKey " + key)
                .header("User-Agent", AgentClient.USER_AGENT)
                .timeout(Duration.ofSeconds(30)).GET();
        if (range != null) {
            b.header("Range", range);
        }
        if (origin != null) {
            b.header("X-elastic-product-origin", origin);
        }
        return fleet.agent().send(b.build());
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] slice(byte[] b, int from, int to) {
        return java.util.Arrays.copyOfRange(b, from, to);
    }

    // --- artifacts ---

    @Test
    void anArtifactThePolicyListsIsServedByteExactInItsStoredEncoding() {
        byte[] decoded = randomBytes(300_000, 1);
        ObjectNode doc = ArtifactFixtures.zlibArtifact("endpoint-exceptionlist-windows-v1", decoded);
        storeArtifact(doc);
        E2eSupport.Enrolled a = enrollInto(policyListing(doc));

        AgentClient.Reply r = getArtifact(a.key(), "endpoint-exceptionlist-windows-v1", doc.get("decoded_sha256").asText());

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.raw()).isEqualTo(Base64.getDecoder().decode(doc.get("body").asText()));
        assertThat(r.header("Content-Encoding")).isNull();
        assertThat(r.header("Content-Type")).isEqualTo("application/octet-stream");
        assertThat(r.header("Content-Length")).isEqualTo(String.valueOf(r.raw().length));
    }

    @Test
    void anArtifactAtAHashThePolicyDoesNotListIsForbidden() {
        ObjectNode listed = ArtifactFixtures.zlibArtifact("endpoint-trustlist-linux-v1", randomBytes(1000, 2));
        ObjectNode other = ArtifactFixtures.zlibArtifact("endpoint-trustlist-linux-v1", randomBytes(1000, 3));
        storeArtifact(listed);
        storeArtifact(other);
        E2eSupport.Enrolled a = enrollInto(policyListing(listed));

        assertError(getArtifact(a.key(), "endpoint-trustlist-linux-v1", other.get("decoded_sha256").asText()),
                403, "Forbidden", "agent not authorized for artifact");
        assertError(getArtifact(a.key(), "endpoint-blocklist-linux-v1", listed.get("decoded_sha256").asText()),
                403, "Forbidden", "agent not authorized for artifact");
    }

    @Test
    void anArtifactThePolicyListsButNoDocumentHoldsIsNotFound() {
        ObjectNode missing = ArtifactFixtures.zlibArtifact("endpoint-eventfilterlist-macos-v1", randomBytes(100, 4));
        E2eSupport.Enrolled a = enrollInto(policyListing(missing));
        assertError(getArtifact(a.key(), "endpoint-eventfilterlist-macos-v1", missing.get("decoded_sha256").asText()),
                404, "NotFound", "not found");
    }

    @Test
    void aMalformedHashIsABadRequestAndAKeyOfNoAgentIsAgentNotFound() {
        ObjectNode doc = ArtifactFixtures.zlibArtifact("endpoint-exceptionlist-linux-v1", randomBytes(100, 5));
        E2eSupport.Enrolled a = enrollInto(policyListing(doc));
        assertError(getArtifact(a.key(), "endpoint-exceptionlist-linux-v1", "abc"), 400, "BadRequest", "malformed sha256");
        assertError(getArtifact(a.key(), "endpoint-exceptionlist-linux-v1", "g".repeat(64)), 400, "BadRequest", "malformed sha256");
        // A valid API key that is no agent's access key (an enrollment key).
        String enrollmentKey = managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"" + policyListing(doc) + "\"}").at("/item/api_key").asText();
        assertError(getArtifact(enrollmentKey, "endpoint-exceptionlist-linux-v1", doc.get("decoded_sha256").asText()),
                404, "AgentNotFound", "agent could not be found");
    }

    @Test
    void concurrentRequestsForANewArtifactAreAllServedFromOneStoreRead() throws Exception {
        ObjectNode doc = ArtifactFixtures.zlibArtifact("endpoint-hostisolationexceptionlist-windows-v1", randomBytes(2_000_000, 6));
        storeArtifact(doc);
        List<E2eSupport.Enrolled> agents = new ArrayList<>();
        String p = policyListing(doc);
        for (int i = 0; i < 4; i++) {
            agents.add(enrollInto(p));
        }
        byte[] expected = Base64.getDecoder().decode(doc.get("body").asText());
        long readsBefore = fleet.daemon().core().artifacts().storeReads();

        List<CompletableFuture<AgentClient.Reply>> replies = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            HttpClient own = HttpClient.newHttpClient();
            HttpRequest req = fleet.agent().request("/api/fleet/artifacts/endpoint-hostisolationexceptionlist-windows-v1/"
                    + doc.get("decoded_sha256").asText()).header("Authorization", "ApiKey " + agents.get(i % 4).key()).GET().build();
            replies.add(own.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray())
                    .thenApply(r -> new AgentClient.Reply(r.statusCode(), r.headers().map(), r.body(), "")));
        }
        for (CompletableFuture<AgentClient.Reply> f : replies) {
            AgentClient.Reply r = f.get(60, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.raw()).isEqualTo(expected);
        }
        assertThat(fleet.daemon().core().artifacts().storeReads() - readsBefore).isEqualTo(1);
    }

    // --- file delivery ---

    @Test
    void aFileForTheAgentIsStreamedWholeWithItsHeaders() {
        E2eSupport.Enrolled a = enrollInto(policyListing());
        byte[] content = randomBytes(2_500, 7);
        String id = publishFile(List.of(a.id()), content, "application/zip");

        AgentClient.Reply r = getFile(a.key(), id, null, null, null);

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.raw()).isEqualTo(content);
        assertThat(r.header("Content-Length")).isEqualTo("2500");
        assertThat(r.header("Content-Type")).isEqualTo("application/zip");
        assertThat(r.header("Accept-Ranges")).isEqualTo("bytes");
        assertThat(r.header("X-File-SHA2")).isEqualTo(ArtifactFixtures.sha256(content));
    }

    @Test
    void oneRangeIsPartialContentAcrossChunks() {
        E2eSupport.Enrolled a = enrollInto(policyListing());
        byte[] content = randomBytes(2_500, 8);
        String id = publishFile(List.of(a.id()), content, "application/octet-stream");

        AgentClient.Reply r = getFile(a.key(), id, null, "bytes=900-2099", null);
        assertThat(r.status()).as(r.body()).isEqualTo(206);
        assertThat(r.header("Content-Range")).isEqualTo("bytes 900-2099/2500");
        assertThat(r.header("Content-Length")).isEqualTo("1200");
        assertThat(r.raw()).isEqualTo(slice(content, 900, 2100));

        AgentClient.Reply tail = getFile(a.key(), id, null, "bytes=-100", null);
        assertThat(tail.status()).isEqualTo(206);
        assertThat(tail.header("Content-Range")).isEqualTo("bytes 2400-2499/2500");
        assertThat(tail.raw()).isEqualTo(slice(content, 2400, 2500));

        AgentClient.Reply open = getFile(a.key(), id, null, "bytes=1000-", null);
        assertThat(open.status()).isEqualTo(206);
        assertThat(open.raw()).isEqualTo(slice(content, 1000, 2500));
    }

    @Test
    void severalRangesOrAnUnsatisfiableOneAreRangeNotSatisfiable() {
        E2eSupport.Enrolled a = enrollInto(policyListing());
        String id = publishFile(List.of(a.id()), randomBytes(2_500, 9), "application/octet-stream");

        assertError(getFile(a.key(), id, null, "bytes=0-1,5-6", null), 416, "ErrRangeNotSatisfiable", "Multipart ranges not satisfiable");
        AgentClient.Reply past = getFile(a.key(), id, null, "bytes=5000-", null);
        assertError(past, 416, "ErrRangeNotSatisfiable", "range not satisfiable");
        assertThat(past.header("Content-Range")).isEqualTo("bytes */2500");
        AgentClient.Reply bad = getFile(a.key(), id, null, "lines=1-2", null);
        assertError(bad, 416, "ErrRangeNotSatisfiable", "range not satisfiable");
        assertThat(bad.header("Content-Range")).isEqualTo("bytes */2500");
    }

    @Test
    void aFileNotTargetedAtTheAgentIsNotFoundAndLibraryFilesNeedAnAllowedClient() {
        String p = policyListing();
        E2eSupport.Enrolled target = enrollInto(p);
        E2eSupport.Enrolled other = enrollInto(p);
        String id = publishFile(List.of(target.id()), randomBytes(10, 10), "text/plain");

        assertError(getFile(other.key(), id, null, null, null), 404, "ErrNoFile", "file not found");
        assertError(getFile(target.key(), "no-such-file", null, null, null), 404, "ErrNoFile", "file not found");
        assertError(getFile(target.key(), id, "source=mylib", null, null), 403, "ErrClientFileForbidden", "client forbidden");
        assertError(getFile(target.key(), id, "source=mylib", null, "some-client"), 403, "ErrClientFileForbidden", "client forbidden");
        assertError(getFile(target.key(), "no-such-file", "source=mylib", null, "endpoint-security"),
                404, "ErrFileForDeliveryNotFound", "file not found");
    }

    @Test
    void aFileIsUploadedOnceAndAnUnknownOneIsNotFound() {
        E2eSupport.Enrolled a = enrollInto(policyListing());
        String id = publishFile(List.of(a.id()), randomBytes(10, 11), "text/plain");
        HttpRequest again = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.daemon().managementPort()
                        + "/api/fleet/files/" + id + "/blob"))
                .header("Authorization", "Bearer " + fleet.daemon().managementToken())
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[] {1})).build();
        assertThat(new AgentClient(fleet.daemon().managementPort()).send(again).status()).isEqualTo(409);
        assertThat(management(fleet.daemon(), "GET", "/api/fleet/files/" + UUID.randomUUID(), null).status()).isEqualTo(404);
        assertThat(management(fleet.daemon(), "POST", "/api/fleet/files", "{\"name\":\"x\"}").status()).isEqualTo(400);
        assertThat(managementOk(fleet.daemon(), "DELETE", "/api/fleet/files/" + id, null).get("deleted").asBoolean()).isTrue();
        assertError(getFile(a.key(), id, null, null, null), 404, "ErrNoFile", "file not found");
    }
}
