package dev.fleetserver.core.upload;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The storage port of files uploaded by agents (diagnostics bundles): one metadata document per upload, in the
 * original's shape, and its chunks. Both back ends implement it: Elasticsearch keeps them where Kibana reads them
 * ({@code .fleet-fileds-fromhost-meta-<src>} and CBOR chunk documents in {@code .fleet-fileds-fromhost-data-<src>});
 * the embedded store keeps the metadata in its database and the chunks as files in the data directory.
 *
 * <p>All methods are asynchronous and never block the caller; futures fail with
 * {@link dev.fleetserver.core.store.StoreException}s. A write whose future completed is durable.
 */
public interface UploadStore {

    /**
     * An upload's metadata document as read.
     *
     * @param fileId      the document id, {@code <action_id>.<agent_id>}; chunks are {@code <fileId>.<n>}
     * @param location    where the document lives (the concrete index on Elasticsearch), for conditional writes
     * @param seqNo       the version read, for {@link #replace}
     * @param primaryTerm the version read, for {@link #replace}
     * @param source      the document; callers must not mutate it
     */
    record Stored(String fileId, String location, long seqNo, long primaryTerm, ObjectNode source) {
    }

    /**
     * One stored chunk.
     *
     * @param pos      its number in the file, from 0
     * @param last     whether it was stored as the file's final chunk
     * @param sha2     its SHA-256 (hex) as stored
     * @param size     its length in bytes; -1 when not asked for
     * @param location where it lives, for {@link #readChunk}
     */
    record StoredChunk(int pos, boolean last, String sha2, int size, String location) {
    }

    /** Writes a new metadata document; fails with {@code StoreException.Conflict} when {@code fileId} exists. */
    CompletableFuture<Void> create(String src, String fileId, ObjectNode meta);

    /** The upload whose {@code upload_id} is {@code uploadId}, read fresh (not cached). */
    CompletableFuture<Optional<Stored>> byUploadId(String uploadId);

    /** The upload whose document id is {@code fileId}. */
    CompletableFuture<Optional<Stored>> byFileId(String fileId);

    /** Every upload of one agent, any source. */
    CompletableFuture<List<Stored>> byAgent(String agentId);

    /**
     * Replaces the document with {@code source} if it is still the version read; fails with
     * {@code StoreException.Conflict} when it changed since.
     */
    CompletableFuture<Void> replace(Stored upload, ObjectNode source);

    /**
     * Stores chunk {@code pos} of {@code upload}: the first {@code length} bytes of {@code data}, with its hash and
     * whether it is the final chunk. A chunk stored before under the same number is replaced. Completes once the
     * chunk is durable.
     */
    CompletableFuture<Void> putChunk(Stored upload, int pos, boolean last, String sha2, byte[] data, int length);

    /**
     * The stored chunks of {@code upload}, by number. With {@code withSizes} each carries its length (which may mean
     * reading the chunks), else {@code size} is -1.
     */
    CompletableFuture<List<StoredChunk>> chunks(Stored upload, boolean withSizes);

    /** The bytes of one chunk listed by {@link #chunks}. */
    CompletableFuture<byte[]> readChunk(Stored upload, StoredChunk chunk);

    /** Removes every chunk of {@code upload}. */
    CompletableFuture<Void> deleteChunks(Stored upload);

    /**
     * Frees what uploads that can no longer complete hold: the chunks of uploads started before {@code cutoff} that
     * are not {@code READY}, of failed ones, and any left without a metadata document. Completes with how many
     * uploads were cleaned. A back end that leaves this to its own lifecycle management does nothing.
     */
    CompletableFuture<Integer> removeAbandoned(Instant cutoff);
}
