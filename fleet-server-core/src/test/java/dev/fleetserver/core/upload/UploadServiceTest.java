package dev.fleetserver.core.upload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.embedded.EmbeddedUploadStore;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The upload rules on the embedded store, with time under the test's control. */
class UploadServiceTest {
    @TempDir
    Path dataDir;
    SqliteDocumentStore documents;
    EmbeddedUploadStore store;
    MutableClock clock;
    UploadService uploads;

    @BeforeEach
    void open() throws Exception {
        documents = SqliteDocumentStore.open(dataDir);
        store = new EmbeddedUploadStore(documents, dataDir.resolve("uploads"));
        clock = new MutableClock(Instant.parse("2026-12-01T00:00:00Z"));
        uploads = new UploadService(store, new dev.fleetserver.core.model.FleetRepository(documents), null, clock, null);
    }

    @AfterEach
    void close() {
        store.close();
        documents.close();
    }

    /** An upload as begin stores it, started now by the clock. */
    private String begin(String fileId, long size) throws Exception {
        String uploadId = java.util.UUID.randomUUID().toString();
        ObjectNode meta = Json.object();
        meta.put("action_id", fileId.split("\\.")[0]);
        meta.put("agent_id", fileId.split("\\.")[1]);
        meta.put("src", "agent");
        ObjectNode file = meta.putObject("file");
        file.put("name", "d.zip");
        file.put("mime_type", "application/zip");
        file.put("size", size);
        file.put("ChunkSize", UploadService.CHUNK_SIZE);
        file.put("Status", UploadInfo.AWAITING_UPLOAD);
        meta.put("upload_id", uploadId);
        meta.put("upload_start", clock.millis());
        meta.put("@timestamp", clock.millis());
        store.create("agent", fileId, meta).get(5, TimeUnit.SECONDS);
        return uploadId;
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static FleetError errorOf(Throwable t) {
        Throwable c = t instanceof CompletionException ? t.getCause() : t;
        return ((FleetException) c).error();
    }

    @Test
    void anUploadTakesChunksForTwentyFourHoursFromItsStart() throws Exception {
        String uploadId = begin("act.agent", 10);
        clock.advance(Duration.ofHours(24));
        assertThat(uploads.chunkTarget(uploadId, 0).get(5, TimeUnit.SECONDS).uploadId()).isEqualTo(uploadId);
        clock.advance(Duration.ofMillis(1));
        assertThatThrownBy(() -> uploads.chunkTarget(uploadId, 0).join())
                .satisfies(t -> assertThat(errorOf(t)).isEqualTo(FleetError.UPLOAD_EXPIRED));
    }

    @Test
    void anUndersizedChunkBeforeTheLastFailsValidationAndTheChunksAreRemoved() throws Exception {
        String uploadId = begin("act2.agent", UploadService.CHUNK_SIZE + 1L);
        UploadInfo info = uploads.chunkTarget(uploadId, 0).get(5, TimeUnit.SECONDS);
        byte[] small = {1, 2, 3};
        byte[] last = {4};
        uploads.storeChunk(info, 0, sha256(small), small, small.length, sha256(small)).get(5, TimeUnit.SECONDS);
        uploads.storeChunk(info, 1, sha256(last), last, last.length, sha256(last)).get(5, TimeUnit.SECONDS);
        MessageDigest transit = MessageDigest.getInstance("SHA-256");
        transit.update(MessageDigest.getInstance("SHA-256").digest(small));
        transit.update(MessageDigest.getInstance("SHA-256").digest(last));
        ObjectNode body = Json.object();
        body.putObject("transithash").put("sha256", HexFormat.of().formatHex(transit.digest()));

        assertThatThrownBy(() -> uploads.complete(info, body).join())
                .satisfies(t -> assertThat(errorOf(t)).isEqualTo(FleetError.FAIL_VALIDATION));
        assertThat(store.byUploadId(uploadId).get(5, TimeUnit.SECONDS).orElseThrow().source().at("/file/Status").asText())
                .isEqualTo(UploadInfo.UPLOAD_ERROR);
        assertThat(dataDir.resolve("uploads").resolve(uploadId)).doesNotExist();
    }

    @Test
    void cleanupRemovesTheChunksOfExpiredUnfinishedUploadsAndKeepsTheOthers() throws Exception {
        String old = begin("old.agent", 1);
        clock.advance(Duration.ofHours(20));
        String recent = begin("new.agent", 1);
        byte[] b = {7};
        uploads.storeChunk(uploads.chunkTarget(old, 0).get(5, TimeUnit.SECONDS), 0, sha256(b), b, 1, sha256(b))
                .get(5, TimeUnit.SECONDS);
        uploads.storeChunk(uploads.chunkTarget(recent, 0).get(5, TimeUnit.SECONDS), 0, sha256(b), b, 1, sha256(b))
                .get(5, TimeUnit.SECONDS);
        clock.advance(Duration.ofHours(5));

        int removed = store.removeAbandoned(clock.instant().minus(UploadService.EXPIRY)).get(5, TimeUnit.SECONDS);

        assertThat(removed).isEqualTo(1);
        assertThat(dataDir.resolve("uploads").resolve(old)).doesNotExist();
        assertThat(Files.list(dataDir.resolve("uploads").resolve(recent)).count()).isEqualTo(1);
    }
}
