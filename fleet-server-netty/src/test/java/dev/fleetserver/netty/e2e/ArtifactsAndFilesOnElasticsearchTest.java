package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.management;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.artifact.ArtifactFixtures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.store.EsDocumentStore;
import dev.fleetserver.es.store.FileChunkCbor;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The same, on Elasticsearch: artifacts, file metadata and CBOR chunk documents written as Kibana writes them, into
 * data streams whose templates are installed as Elasticsearch's Fleet plugin installs them.
 */
class ArtifactsAndFilesOnElasticsearchTest extends ArtifactsAndFilesTest {
    /** Chunk size of the files written here: small, so that small files span several chunks. */
    private static final int CHUNK = 1000;
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
    private final HttpClient http = HttpClient.newHttpClient();

    @Override
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.onElasticsearch(this::clusterWithFileTemplates);
    }

    /** The cluster, with the templates of the file data streams installed first, as Elasticsearch's Fleet plugin does. */
    private ElasticsearchTestCluster clusterWithFileTemplates() {
        for (String name : EsDocumentStore.FILE_TEMPLATES) {
            cluster.request("PUT", "/_index_template/" + name, Json.string(EsDocumentStore.templateFor(name)));
        }
        return cluster;
    }

    @Override
    protected void storeArtifact(ObjectNode doc) {
        cluster.request("PUT", "/.fleet-artifacts/_doc/" + doc.get("identifier").asText() + "-" + doc.get("decoded_sha256").asText()
                + "?refresh=true", Json.string(doc));
    }

    @Override
    protected String publishFile(List<String> agents, byte[] content, String mimeType) {
        String id = UUID.randomUUID().toString();
        writeFile(".fleet-fileds-tohost-meta-endpoint", ".fleet-fileds-tohost-data-endpoint", id, agents, content, mimeType, true);
        return id;
    }

    /** The metadata document and the chunks, as Kibana writes them (chunks in CBOR, {@code last} on the final one only). */
    private void writeFile(String metaIndex, String dataIndex, String id, List<String> agents, byte[] content, String mimeType,
                           boolean dataStream) {
        ObjectNode meta = Json.object();
        meta.put("@timestamp", System.currentTimeMillis());
        meta.put("source", "endpoint");
        ObjectNode file = meta.putObject("file");
        file.put("name", "file.bin");
        file.put("mime_type", mimeType);
        file.put("size", content.length);
        file.put("ChunkSize", CHUNK);
        file.put("Status", "READY");
        file.putObject("hash").put("sha256", ArtifactFixtures.sha256(content));
        agents.forEach(file.putObject("Meta").putArray("target_agents")::add);
        cluster.request("PUT", "/" + metaIndex + "/" + (dataStream ? "_create" : "_doc") + "/" + id + "?refresh=true", Json.string(meta));
        int chunks = Math.max(1, (content.length + CHUNK - 1) / CHUNK);
        for (int n = 0; n < chunks; n++) {
            byte[] data = slice(content, n * CHUNK, Math.min(content.length, (n + 1) * CHUNK));
            byte[] doc = FileChunkCbor.encode(System.currentTimeMillis(), n == chunks - 1, id, ArtifactFixtures.sha256(data), data);
            HttpRequest put = HttpRequest.newBuilder(URI.create(cluster.httpUri() + "/" + dataIndex + "/_create/" + id + "." + n + "?refresh=true"))
                    .header("Authorization", cluster.adminAuthorization())
                    .header("Content-Type", FileChunkCbor.MEDIA_TYPE)
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(doc)).build();
            try {
                HttpResponse<String> r = http.send(put, HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            } catch (Exception e) {
                throw new AssertionError("writing chunk " + n, e);
            }
        }
    }

    /** Publishing is Kibana's on Elasticsearch; the management API says so. */
    @Test
    @Override
    void aFileIsUploadedOnceAndAnUnknownOneIsNotFound() {
        AgentClient.Reply r = management(fleet.daemon(), "POST", "/api/fleet/files", "{\"name\":\"x\",\"agents\":[\"a\"]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("published by Kibana");
    }

    /**
     * Elasticsearch grants the {@code elastic/fleet-server} service account no read on this test's library indices,
     * and the original answers a library it cannot read as a file not found: so does this server.
     */
    @Test
    void aLibraryTheServiceAccountMayNotReadIsAFileNotFound() {
        E2eSupport.Enrolled a = enrollInto(policyListing());
        String lib = "lib" + UUID.randomUUID().toString().substring(0, 8);
        byte[] content = randomBytes(1_500, 12);
        String id = UUID.randomUUID().toString();
        writeFile(".endpoint-fleetfiles-" + lib + "-meta", ".endpoint-fleetfiles-" + lib + "-data", id, List.of(), content,
                "application/octet-stream", false);

        E2eSupport.assertError(getFile(a.key(), id, "source=" + lib, null, "endpoint-security"),
                404, "ErrFileForDeliveryNotFound", "file not found");
        E2eSupport.assertError(getFile(a.key(), id, "source=" + lib, null, null), 403, "ErrClientFileForbidden", "client forbidden");
    }
}
