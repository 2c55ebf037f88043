package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.embedded.EmbeddedUploadStore;
import dev.fleetserver.core.util.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Diagnostics uploads end to end, as Elastic Agent and Kibana do them: the management API asks for diagnostics, the
 * agent uploads its bundle in chunks and acks with the upload id, and the management API lists the upload and serves
 * the file. Every error the original answers on these routes, with its status, name and message. On the embedded
 * store here; a subclass runs the same on Elasticsearch.
 */
class UploadProtocolTest {
    @RegisterExtension
    final TestFleetExtension fleet = newFleet().server(UploadProtocolTest::relaxUploadLimits).cleanUp(this::afterStop);
    UploadClient uploads;

    @BeforeEach
    void uploadClient() {
        uploads = new UploadClient(fleet.agent());
    }

    /**
     * The server under test, before its settings: on the embedded store here, on Elasticsearch in a subclass. Called
     * while the test instance is made, before a subclass's own fields are set.
     */
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.embedded();
    }

    protected void afterStop() throws Exception {
    }

    /** The stored metadata document of an upload. */
    protected JsonNode metaDoc(String fileId) throws Exception {
        return E2eSupport.doc(fleet.daemon(), EmbeddedUploadStore.INDEX, fileId).orElseThrow();
    }

    /** How many chunks of an upload the store holds. */
    protected long storedChunks(String uploadId, String fileId) throws Exception {
        Path dir = fleet.dataDir().resolve("uploads").resolve(uploadId);
        if (!java.nio.file.Files.isDirectory(dir)) {
            return 0;
        }
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
            return files.filter(f -> !f.getFileName().toString().startsWith(".")).count();
        }
    }

    /** Moves an upload's start back in time, as if it had begun then. */
    protected void backdate(String fileId, Instant start) throws Exception {
        ObjectNode partial = Json.object();
        partial.put("upload_start", start.toEpochMilli());
        fleet.daemon().store().update(EmbeddedUploadStore.INDEX, fileId, partial).get(5, TimeUnit.SECONDS);
    }

    /**
     * The limit profiles let a few upload begins through every two seconds and five chunks at once, as the
     * original's; these tests send many in a row.
     */
    static void relaxUploadLimits(ObjectNode server) {
        ObjectNode limits = server.with("limits");
        for (String route : java.util.List.of("upload_start_limit", "upload_end_limit", "upload_chunk_limit")) {
            limits.putObject(route).put("interval", "1ms").put("burst", 1000).put("max", 1000);
        }
    }

    private void restart(Consumer<ObjectNode> tweak) throws Exception {
        fleet.stop();
        afterStop();
        fleet.start(server -> {
            relaxUploadLimits(server);
            tweak.accept(server);
        });
        uploads = new UploadClient(fleet.agent());
    }

    /** The answer to a request head announcing {@code length} body bytes (none sent: the head is enough). */
    private E2eSupport.RawResponse oversized(String method, String path, String key, long length) throws Exception {
        try (E2eSupport.RawConnection c = new E2eSupport.RawConnection(fleet.port())) {
            java.util.Map<String, String> h = E2eSupport.agentHeaders("ApiKey " + key);
            h.put("X-Chunk-SHA2", "00");
            h.put("Content-Length", String.valueOf(length));
            return c.send(method, path, h, null).read();
        }
    }

    private static byte[] bytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void aTenMegabyteDiagnosticsBundleGoesUpInThreeChunksAndComesBackByteIdenticalThroughTheManagementApi() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agents/" + a.id() + "/request_diagnostics", "{}");
        JsonNode delivered = fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).json();
        JsonNode action = delivered.get("actions").get(0);
        assertThat(action.get("type").asText()).isEqualTo("REQUEST_DIAGNOSTICS");
        String actionId = action.get("id").asText();

        byte[] bundle = bytes(10_000_000, 42);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody(actionId, a.id(), bundle.length));
        for (int n = 0; n < 3; n++) {
            AgentClient.Reply r = uploads.chunk(a.key(), uploadId, n, bundle);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.raw()).isEmpty();
        }
        AgentClient.Reply done = uploads.complete(a.key(), uploadId, UploadClient.transitHash(bundle));
        assertThat(done.status()).as(done.body()).isEqualTo(200);
        assertThat(done.body()).isEqualTo("{\"status\":\"ok\"}");
        ObjectNode ack = AgentClient.ackEvents(a.id(), actionId);
        ((ObjectNode) ack.get("events").get(0)).putObject("data").put("upload_id", uploadId);
        assertThat(fleet.agent().acks(a.id(), a.key(), ack).status()).isEqualTo(200);

        String fileId = actionId + "." + a.id();
        JsonNode meta = metaDoc(fileId);
        assertThat(meta.at("/file/Status").asText()).isEqualTo("READY");
        assertThat(meta.at("/transithash/sha256").asText()).isEqualTo(UploadClient.transitHash(bundle));

        JsonNode items = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id() + "/uploads", null)
                .get("items");
        assertThat(items).hasSize(1);
        JsonNode item = items.get(0);
        assertThat(item.get("id").asText()).isEqualTo(fileId);
        assertThat(item.get("actionId").asText()).isEqualTo(actionId);
        assertThat(item.get("status").asText()).isEqualTo("READY");
        assertThat(item.get("name").asText()).isEqualTo("elastic-agent-diagnostics-2026-12-02T00-00-00Z-00.zip");
        assertThat(item.get("createTime").asText()).isNotEmpty();
        assertThat(item.get("filePath").asText()).isEqualTo("/api/fleet/agents/files/" + fileId + "/" + item.get("name").asText());

        AgentClient.Reply file = E2eSupport.management(fleet.daemon(), "GET", item.get("filePath").asText(), null);
        assertThat(file.status()).isEqualTo(200);
        assertThat(file.header("Content-Type")).isEqualTo("application/octet-stream");
        assertThat(file.header("Content-Disposition")).isEqualTo("attachment; filename=\"" + item.get("name").asText() + "\"");
        assertThat(file.raw()).isEqualTo(bundle);
    }

    @Test
    void theListingShowsADiagnosticsRequestInProgressAndAFileIsServedOnlyOnceReady() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agents/" + a.id() + "/request_diagnostics", "{}");
        JsonNode listed = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id() + "/uploads", null)
                .at("/items/0");
        String actionId = listed.get("actionId").asText();
        assertThat(listed.get("id").asText()).isEqualTo(actionId);
        assertThat(listed.get("status").asText()).isEqualTo("IN_PROGRESS");
        assertThat(listed.get("filePath").asText()).isEmpty();
        assertThat(listed.get("name").asText()).matches("elastic-agent-diagnostics-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z-00\\.zip");

        byte[] file = bytes(10, 6);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody(actionId, a.id(), file.length));
        JsonNode awaiting = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id() + "/uploads", null)
                .at("/items/0");
        assertThat(awaiting.get("status").asText()).isEqualTo("AWAITING_UPLOAD");
        AgentClient.Reply early = E2eSupport.management(fleet.daemon(), "GET", awaiting.get("filePath").asText(), null);
        assertThat(early.status()).as(early.body()).isEqualTo(400);
        assertThat(E2eSupport.management(fleet.daemon(), "GET", "/api/fleet/agents/files/nothing." + a.id() + "/x.zip", null)
                .status()).isEqualTo(404);
        assertThat(uploads.chunk(a.key(), uploadId, 0, file).status()).isEqualTo(200);
        assertThat(uploads.complete(a.key(), uploadId, UploadClient.transitHash(file)).status()).isEqualTo(200);
        assertThat(E2eSupport.management(fleet.daemon(), "GET", awaiting.get("filePath").asText(), null).raw()).isEqualTo(file);
        // The management token is required, as everywhere on that API.
        assertThat(E2eSupport.managementAs(fleet.daemon(), null, "GET", awaiting.get("filePath").asText(), null).status())
                .isEqualTo(401);
        assertThat(E2eSupport.managementAs(fleet.daemon(), null, "GET", "/api/fleet/agents/" + a.id() + "/uploads", null)
                .status()).isEqualTo(401);
    }

    @Test
    void aDeletedFileIsGoneFromTheListingAndTheDownloadAndItsChunksAreRemoved() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agents/" + a.id() + "/request_diagnostics", "{}");
        String actionId = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id() + "/uploads", null)
                .at("/items/0/actionId").asText();
        byte[] file = bytes(UploadClient.CHUNK + 100, 7);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody(actionId, a.id(), file.length));
        for (int n = 0; n < 2; n++) {
            assertThat(uploads.chunk(a.key(), uploadId, n, file).status()).isEqualTo(200);
        }
        assertThat(uploads.complete(a.key(), uploadId, UploadClient.transitHash(file)).status()).isEqualTo(200);
        String fileId = actionId + "." + a.id();
        String filePath = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id() + "/uploads", null)
                .at("/items/0/filePath").asText();
        assertThat(storedChunks(uploadId, fileId)).isEqualTo(2);

        assertThat(E2eSupport.managementAs(fleet.daemon(), null, "DELETE", "/api/fleet/agents/files/" + fileId, null).status())
                .isEqualTo(401);
        JsonNode deleted = E2eSupport.managementOk(fleet.daemon(), "DELETE", "/api/fleet/agents/files/" + fileId, null);
        assertThat(deleted.get("id").asText()).isEqualTo(fileId);
        assertThat(deleted.get("deleted").asBoolean()).isTrue();

        assertThat(metaDoc(fileId).at("/file/Status").asText()).isEqualTo("DELETED");
        assertThat(storedChunks(uploadId, fileId)).isZero();
        assertThat(E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id() + "/uploads", null).get("items"))
                .isEmpty();
        assertThat(E2eSupport.management(fleet.daemon(), "GET", filePath, null).status()).isEqualTo(404);
        // Deleting again, or a file that never was, is 404.
        assertThat(E2eSupport.management(fleet.daemon(), "DELETE", "/api/fleet/agents/files/" + fileId, null).status())
                .isEqualTo(404);
        assertThat(E2eSupport.management(fleet.daemon(), "DELETE", "/api/fleet/agents/files/nothing." + a.id(), null).status())
                .isEqualTo(404);
    }

    @Test
    void aChunkWhoseHashDoesNotMatchIsRefusedAndNotKept() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        byte[] file = bytes(1000, 1);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody("act-hash", a.id(), file.length));
        String wrong = UploadClient.sha256(new byte[] {1}, 0, 1);
        assertError(uploads.chunk(a.key(), uploadId, "0", file, 0, file.length, wrong), 400, "ErrHashMismatch", "hash does not match");
        // Nothing of it was kept: completing finds the chunk missing.
        assertError(uploads.complete(a.key(), uploadId, UploadClient.transitHash(file)), 400, "ErrMissingChunks",
                "file data incomplete, not all chunks were uploaded");
        // The right chunk (its hash in capitals, which the original accepts) completes it.
        assertThat(uploads.chunk(a.key(), uploadId, "0", file, 0, file.length,
                UploadClient.sha256(file, 0, file.length).toUpperCase()).status()).isEqualTo(200);
        assertThat(uploads.complete(a.key(), uploadId, UploadClient.transitHash(file)).status()).isEqualTo(200);
    }

    @Test
    void completingWithAChunkMissingIsErrMissingChunks() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        byte[] file = bytes(UploadClient.CHUNK + 10, 2);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody("act-missing", a.id(), file.length));
        assertThat(uploads.chunk(a.key(), uploadId, 1, file).status()).isEqualTo(200);
        assertError(uploads.complete(a.key(), uploadId, UploadClient.transitHash(file)), 400, "ErrMissingChunks",
                "file data incomplete, not all chunks were uploaded");
        assertThat(metaDoc("act-missing." + a.id()).at("/file/Status").asText()).isEqualTo("AWAITING_UPLOAD");
    }

    @Test
    void aWrongTransitHashFailsTheUploadAndDropsItsChunks() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        byte[] file = bytes(3000, 3);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody("act-transit", a.id(), file.length));
        assertThat(uploads.chunk(a.key(), uploadId, 0, file).status()).isEqualTo(200);
        assertError(uploads.complete(a.key(), uploadId, UploadClient.sha256(file, 0, file.length)), 400,
                "ErrFailValidation", "file contents failed validation");
        assertThat(metaDoc("act-transit." + a.id()).at("/file/Status").asText()).isEqualTo("UPLOAD_ERROR");
        assertThat(storedChunks(uploadId, "act-transit." + a.id())).isZero();
        assertError(uploads.chunk(a.key(), uploadId, 0, file), 400, "ErrUploadStopped", "upload has stopped");
        assertError(uploads.complete(a.key(), uploadId, UploadClient.transitHash(file)), 400, "ErrStatusNoUploads",
                "file closed, not accepting uploads");
    }

    @Test
    void anUploadBegunMoreThanADayAgoTakesNoMoreChunks() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        byte[] file = bytes(100, 4);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody("act-old", a.id(), file.length));
        backdate("act-old." + a.id(), Instant.now().minus(Duration.ofHours(23)));
        assertThat(uploads.chunk(a.key(), uploadId, 0, file).status()).isEqualTo(200);
        backdate("act-old." + a.id(), Instant.now().minus(Duration.ofHours(24)).minusSeconds(1));
        assertError(uploads.chunk(a.key(), uploadId, 0, file), 400, "ErrUploadExpired", "upload has expired");
    }

    @Test
    void chunkRequestsThatCannotBeForThisUploadGetTheOriginalsErrors() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        E2eSupport.Enrolled other = fleet.enroll();
        byte[] file = bytes(100, 5);
        String uploadId = uploads.beginOk(a.key(), UploadClient.beginBody("act-chunks", a.id(), file.length));
        String sha = UploadClient.sha256(file, 0, file.length);

        assertError(uploads.chunk(a.key(), "no-such-upload", "0", file, 0, file.length, sha), 400, "ErrInvalidFileID", "ErrInvalidID");
        assertError(uploads.complete(a.key(), "no-such-upload", "abc"), 400, "ErrInvalidFileID", "ErrInvalidID");
        assertError(uploads.chunk(a.key(), uploadId, "1", file, 0, file.length, sha), 400, "ErrInvalidChunkNum", "invalid chunk number");
        assertError(uploads.chunk(a.key(), uploadId, "-1", file, 0, file.length, sha), 400, "ErrInvalidChunkNum", "invalid chunk number");
        assertThat(E2eSupport.assertErrorKind(uploads.chunk(a.key(), uploadId, "one", file, 0, file.length, sha), 400, "BadRequest"))
                .contains("chunkNum");
        assertThat(E2eSupport.assertErrorKind(uploads.chunk(a.key(), uploadId, "0", file, 0, file.length, null), 400, "BadRequest"))
                .contains("X-Chunk-SHA2");
        // Another agent's key, or none: the upload is found, its agent is not the caller.
        assertError(uploads.chunk(other.key(), uploadId, "0", file, 0, file.length, sha), 403, "ErrAgentIdentity",
                "Agent header contains wrong identifier");
        assertError(uploads.complete(other.key(), uploadId, UploadClient.transitHash(file)), 403, "ErrAgentIdentity",
                "Agent header contains wrong identifier");
        assertError(uploads.chunk(null, uploadId, "0", file, 0, file.length, sha), 401, "ErrNoAuthHeader", "no authorization header");
        // Over one chunk size: refused at the head, as the route's body limit.
        E2eSupport.RawResponse big = oversized("PUT", "/api/fleet/uploads/" + uploadId + "/0", a.key(), UploadClient.CHUNK + 1);
        assertThat(big.status()).isEqualTo(400);
        assertThat(new String(big.body(), StandardCharsets.UTF_8)).contains("http: request body too large");
        // The upload itself is unharmed.
        assertThat(uploads.chunk(a.key(), uploadId, 0, file).status()).isEqualTo(200);
        assertError(uploads.complete(a.key(), uploadId, "  "), 400, "TransitHashRequired", "Transit hash required");
        assertError(uploads.complete(a.key(), uploadId, new byte[2048]), 413, "ErrPayloadSizeTooLarge",
                "the request body exceeds the maximum allowed size");
        assertThat(uploads.complete(a.key(), uploadId, UploadClient.transitHash(file)).status()).isEqualTo(200);
    }

    @Test
    void beginBodiesThatAreNotAValidUploadGetTheOriginalsErrors() throws Exception {
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        E2eSupport.Enrolled other = fleet.enroll();

        assertError(uploads.begin(a.key(), new byte[0]), 400, "ErrFileInfoBodyRequired", "file info body is required");
        assertThat(E2eSupport.assertErrorKind(uploads.begin(a.key(), "{".getBytes(StandardCharsets.UTF_8)), 400, "BadRequest"))
                .startsWith("Bad request: unable to decode upload begin request");
        ObjectNode noAgent = UploadClient.beginBody("act-1", a.id(), 10);
        noAgent.remove("agent_id");
        assertError(uploads.begin(a.key(), noAgent), 400, "ErrAgentIDMissing", "required field agent_id is missing");
        assertError(uploads.begin(a.key(), UploadClient.beginBody("act-1", other.id(), 10)), 403, "ErrAgentIdentity",
                "Agent header contains wrong identifier");
        assertError(uploads.begin(null, UploadClient.beginBody("act-1", a.id(), 10)), 401, "ErrNoAuthHeader", "no authorization header");
        ObjectNode noName = UploadClient.beginBody("act-1", a.id(), 10);
        ((ObjectNode) noName.get("file")).put("name", " ");
        assertError(uploads.begin(a.key(), noName), 400, "ErrFieldRequired", "file.name is required: field required");
        ObjectNode noSrc = UploadClient.beginBody("act-1", a.id(), 10);
        noSrc.remove("src");
        assertError(uploads.begin(a.key(), noSrc), 400, "ErrFieldRequired", "src is required: field required");
        ObjectNode noSize = UploadClient.beginBody("act-1", a.id(), 10);
        ((ObjectNode) noSize.get("file")).remove("size");
        assertError(uploads.begin(a.key(), noSize), 400, "ErrFileSizeRequired", "file.size is required");
        assertError(uploads.begin(a.key(), UploadClient.beginBody("act-1", a.id(), 0)), 400, "ErrInvalidFileSize",
                "file.size: 0: invalid filesize");
        E2eSupport.RawResponse huge = oversized("POST", "/api/fleet/uploads", a.key(), 5 * 1024 * 1024 + 1);
        assertThat(huge.status()).isEqualTo(413);
        assertThat(Json.MAPPER.readTree(huge.body())).isEqualTo(Json.object().put("statusCode", 413)
                .put("error", "ErrPayloadSizeTooLarge").put("message", "the request body exceeds the maximum allowed size"));
    }

    @Test
    void maxFileStorageSizeZeroTurnsUploadsOffAndAnyOtherValueBoundsTheFileSize() throws Exception {
        restart(server -> server.with("limits").put("max_file_storage_size", 0));
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        assertError(uploads.begin(a.key(), UploadClient.beginBody("act-1", a.id(), 10)), 403, "ErrFileFeatureDisable",
                "File Transfer is disabled in Fleet Server configuration");

        restart(server -> server.with("limits").put("max_file_storage_size", 100));
        E2eSupport.Enrolled b = fleet.enrollUpToDate();
        assertError(uploads.begin(b.key(), UploadClient.beginBody("act-2", b.id(), 101)), 400, "ErrFileSizeTooLarge",
                "this file exceeds the maximum allowed file size");
        uploads.beginOk(b.key(), UploadClient.beginBody("act-2", b.id(), 100));
    }
}
