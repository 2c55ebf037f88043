package dev.fleetserver.core.upload;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;

/**
 * What the upload endpoints need of a metadata document: ids, sizes, when it started and its status.
 *
 * @param stored    the document as read
 * @param uploadId  {@code upload_id}
 * @param src       {@code src}, the integration that uploads ({@code agent} for diagnostics)
 * @param agentId   {@code agent_id}, the only agent allowed to send its chunks and complete it
 * @param chunkSize {@code file.ChunkSize}
 * @param size      {@code file.size}
 * @param count     chunks the file has: {@code size / chunkSize}, rounded up
 * @param start     {@code upload_start}
 * @param status    {@code file.Status}
 */
public record UploadInfo(UploadStore.Stored stored, String uploadId, String src, String agentId, long chunkSize,
                         long size, int count, Instant start, String status) {
    public static final String AWAITING_UPLOAD = "AWAITING_UPLOAD";
    public static final String READY = "READY";
    public static final String UPLOAD_ERROR = "UPLOAD_ERROR";
    public static final String DELETED = "DELETED";

    /** Reads a stored metadata document; fields that are missing or of the wrong type read as empty or 0. */
    public static UploadInfo of(UploadStore.Stored stored) {
        JsonNode s = stored.source();
        long chunkSize = s.path("file").path("ChunkSize").asLong(0);
        long size = s.path("file").path("size").asLong(0);
        long count = chunkSize <= 0 ? 0 : size / chunkSize + (size % chunkSize > 0 ? 1 : 0);
        return new UploadInfo(stored, s.path("upload_id").asText(""), s.path("src").asText(""),
                s.path("agent_id").asText(""), chunkSize, size, (int) Math.min(count, Integer.MAX_VALUE),
                Instant.ofEpochMilli(s.path("upload_start").asLong(0)), s.path("file").path("Status").asText(""));
    }

    public String fileId() {
        return stored.fileId();
    }

    /** Started more than {@code limit} before {@code now}. */
    public boolean expired(Instant now, Duration limit) {
        return now.isAfter(start.plus(limit));
    }

    /** Whether chunks may still be sent: not done, failed or deleted. */
    public boolean acceptsChunks() {
        return !(READY.equals(status) || UPLOAD_ERROR.equals(status) || DELETED.equals(status));
    }
}
