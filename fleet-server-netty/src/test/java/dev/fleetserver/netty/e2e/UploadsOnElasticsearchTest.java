package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every upload test again on a real Elasticsearch, plus what Kibana relies on: the metadata and chunk documents have
 * the original's fields with the original's JSON types, in indices mapped like the Fleet plugin's templates.
 */
class UploadsOnElasticsearchTest extends UploadProtocolTest {
    private static final String META = ".fleet-fileds-fromhost-meta-agent";
    private static final String DATA = ".fleet-fileds-fromhost-data-agent";
    private static ElasticsearchTestCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = ElasticsearchTestCluster.startNew();
    }

    @AfterAll
    static void stopCluster() {
        cluster.stop();
    }

    @Override
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.onElasticsearch(() -> cluster);
    }

    @Override
    protected void afterStop() {
        cluster.request("DELETE", "/.fleet-agents,.fleet-actions,.fleet-actions-results,.fleet-policies,"
                + ".fleet-enrollment-api-keys,.fleet-artifacts," + META + "," + DATA + "?ignore_unavailable=true", null);
    }

    private static JsonNode metaHit(String fileId) throws Exception {
        JsonNode hits = Json.MAPPER.readTree(cluster.request("POST", "/" + META + "/_search",
                "{\"query\":{\"term\":{\"_id\":\"" + fileId + "\"}}}")).at("/hits/hits");
        assertThat(hits).as("metadata documents " + fileId).hasSize(1);
        return hits.get(0);
    }

    @Override
    protected JsonNode metaDoc(String fileId) throws Exception {
        return metaHit(fileId).get("_source");
    }

    @Override
    protected long storedChunks(String uploadId, String fileId) throws Exception {
        cluster.request("POST", "/" + DATA + "/_refresh?ignore_unavailable=true", null);
        return Json.MAPPER.readTree(cluster.request("POST", "/" + DATA + "/_count?ignore_unavailable=true",
                "{\"query\":{\"term\":{\"bid\":\"" + fileId + "\"}}}")).path("count").asLong();
    }

    @Override
    protected void backdate(String fileId, Instant start) throws Exception {
        String index = metaHit(fileId).get("_index").asText();
        cluster.request("POST", "/" + index + "/_update/" + fileId + "?refresh=true",
                "{\"doc\":{\"upload_start\":" + start.toEpochMilli() + "}}");
    }

    /** JSON types of the original's documents ({@code internal/pkg/file}: the begin body plus what the server adds). */
    private static final Map<String, JsonNodeType> META_TYPES = new LinkedHashMap<>();
    private static final Map<String, JsonNodeType> CHUNK_TYPES = new LinkedHashMap<>();

    static {
        META_TYPES.put("/action_id", JsonNodeType.STRING);
        META_TYPES.put("/agent_id", JsonNodeType.STRING);
        META_TYPES.put("/src", JsonNodeType.STRING);
        META_TYPES.put("/upload_id", JsonNodeType.STRING);
        META_TYPES.put("/upload_start", JsonNodeType.NUMBER);
        META_TYPES.put("/@timestamp", JsonNodeType.NUMBER);
        META_TYPES.put("/file/name", JsonNodeType.STRING);
        META_TYPES.put("/file/ext", JsonNodeType.STRING);
        META_TYPES.put("/file/mime_type", JsonNodeType.STRING);
        META_TYPES.put("/file/size", JsonNodeType.NUMBER);
        META_TYPES.put("/file/ChunkSize", JsonNodeType.NUMBER);
        META_TYPES.put("/file/Status", JsonNodeType.STRING);
        META_TYPES.put("/file/hash/sha256", JsonNodeType.STRING);
        META_TYPES.put("/contents", JsonNodeType.NULL);
        META_TYPES.put("/transithash/sha256", JsonNodeType.STRING);
        CHUNK_TYPES.put("/@timestamp", JsonNodeType.NUMBER);
        CHUNK_TYPES.put("/last", JsonNodeType.BOOLEAN);
        CHUNK_TYPES.put("/bid", JsonNodeType.STRING);
        CHUNK_TYPES.put("/sha2", JsonNodeType.STRING);
        // CBOR bytes, rendered as base64 text in JSON.
        CHUNK_TYPES.put("/data", JsonNodeType.STRING);
    }

    @Test
    void theMetadataAndChunkDocumentsHaveTheOriginalsFieldsAndTypes() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        byte[] file = new byte[UploadClient.CHUNK + 100];
        new Random(7).nextBytes(file);
        long before = System.currentTimeMillis();
        String uploadId = uploads.uploadAll(a.key(), "act-types", a.id(), file);
        String fileId = "act-types." + a.id();

        JsonNode meta = metaDoc(fileId);
        META_TYPES.forEach((path, type) -> assertThat(meta.at(path).getNodeType()).as(path).isEqualTo(type));
        assertThat(meta.get("upload_id").asText()).isEqualTo(uploadId);
        assertThat(meta.get("upload_start").asLong()).isBetween(before, System.currentTimeMillis());
        assertThat(meta.get("@timestamp").asLong()).isEqualTo(meta.get("upload_start").asLong());
        assertThat(meta.at("/file/ChunkSize").asLong()).isEqualTo(4_194_304);
        assertThat(meta.at("/file/size").asLong()).isEqualTo(file.length);
        assertThat(meta.at("/file/Status").asText()).isEqualTo("READY");
        assertThat(meta.at("/transithash/sha256").asText()).isEqualTo(UploadClient.transitHash(file));
        assertThat(meta.has("namespaces")).isTrue();
        assertThat(meta.get("namespaces").isNull() || meta.get("namespaces").isArray()).isTrue();

        for (int n = 0; n < 2; n++) {
            JsonNode chunk = Json.MAPPER.readTree(cluster.request("POST", "/" + DATA + "/_search",
                    "{\"query\":{\"term\":{\"_id\":\"" + fileId + "." + n + "\"}}}")).at("/hits/hits/0/_source");
            CHUNK_TYPES.forEach((path, type) -> assertThat(chunk.at(path).getNodeType()).as(path).isEqualTo(type));
            assertThat(chunk.size()).isEqualTo(CHUNK_TYPES.size());
            int offset = n * UploadClient.CHUNK;
            int length = Math.min(UploadClient.CHUNK, file.length - offset);
            assertThat(chunk.get("bid").asText()).isEqualTo(fileId);
            assertThat(chunk.get("last").asBoolean()).isEqualTo(n == 1);
            assertThat(chunk.get("sha2").asText()).isEqualTo(UploadClient.sha256(file, offset, length));
            assertThat(Base64.getDecoder().decode(chunk.get("data").asText()))
                    .isEqualTo(java.util.Arrays.copyOfRange(file, offset, offset + length));
        }

        // Indices mapped as the Fleet plugin's templates map them.
        JsonNode metaMapping = Json.MAPPER.readTree(cluster.request("GET", "/" + META + "/_mapping", null))
                .at("/" + META + "/mappings");
        assertThat(metaMapping.get("dynamic").asText()).isEqualTo("false");
        assertThat(metaMapping.at("/properties/upload_id/type").asText()).isEqualTo("keyword");
        assertThat(metaMapping.at("/properties/agent_id/type").asText()).isEqualTo("keyword");
        assertThat(metaMapping.at("/properties/action_id/type").asText()).isEqualTo("keyword");
        assertThat(metaMapping.at("/properties/upload_start/type").asText()).isEqualTo("date");
        assertThat(metaMapping.at("/properties/file/properties/Status/type").asText()).isEqualTo("keyword");
        assertThat(metaMapping.at("/properties/file/properties/ChunkSize/type").asText()).isEqualTo("integer");
        JsonNode dataMapping = Json.MAPPER.readTree(cluster.request("GET", "/" + DATA + "/_mapping", null))
                .at("/" + DATA + "/mappings");
        assertThat(dataMapping.at("/properties/data/type").asText()).isEqualTo("binary");
        assertThat(dataMapping.at("/properties/bid/type").asText()).isEqualTo("keyword");
        assertThat(dataMapping.at("/properties/last/type").asText()).isEqualTo("boolean");
        assertThat(dataMapping.at("/properties/sha2/type").asText()).isEqualTo("keyword");
    }
}
