package dev.fleetserver.core.store;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The document-store port both back ends implement: the embedded store and Elasticsearch.
 *
 * <p>Contract (checked by {@code DocumentStoreContract} against every implementation):
 * <ul>
 *   <li>Documents are JSON objects with an id, grouped in named indices. A missing index behaves as an empty one.</li>
 *   <li>Every successful write (create, put, update) gives the document a new per-index sequence number, strictly
 *       greater than every number handed out before in that index. Deletes also consume one.</li>
 *   <li>{@link #checkpoint(String)} is the highest sequence number below which every write is visible to reads;
 *       {@link #changesAfter} never returns a document above it, so a change feed that advances to the
 *       checkpoint skips nothing.</li>
 *   <li>All methods are asynchronous and never block the caller; futures fail with {@link StoreException}s.</li>
 *   <li>A write whose future completed successfully is durable: it survives a crash of the process.</li>
 * </ul>
 */
public interface DocumentStore extends AutoCloseable {

    /** The document, or empty when it (or the index) does not exist. */
    CompletableFuture<Optional<Doc>> get(String index, String id);

    /**
     * As {@link #get}, for a read that arrives with many independent others (the agent read of every agent request,
     * the reads of a status flush):
     * while such reads arrive fast, the store may hold one for a fraction of a second so that they share a request.
     * Only for callers to whom that delay does not matter; a store without such pacing reads at once.
     */
    default CompletableFuture<Optional<Doc>> getPaced(String index, String id) {
        return get(index, id);
    }

    /** Documents matching the query, sorted and limited as it says. */
    CompletableFuture<List<Doc>> search(String index, Query query);

    /** Number of documents matching the query's filters (ignores sort, from and size). */
    CompletableFuture<Long> count(String index, Query query);

    /** Applies each op independently; the result list is in op order. The future itself fails only when the store is unavailable. */
    CompletableFuture<List<WriteResult>> bulk(List<WriteOp> ops);

    /** Single-op convenience over {@link #bulk}: completes with the new sequence number or fails with the op's error. */
    default CompletableFuture<Long> write(WriteOp op) {
        return bulk(List.of(op)).thenApply(results -> results.get(0).orThrow());
    }

    default CompletableFuture<Long> create(String index, String id, ObjectNode source) {
        return write(new WriteOp.Create(index, id, source));
    }

    default CompletableFuture<Long> put(String index, String id, ObjectNode source) {
        return write(new WriteOp.Put(index, id, source));
    }

    default CompletableFuture<Long> update(String index, String id, ObjectNode partial) {
        return write(new WriteOp.Update(index, id, partial));
    }

    default CompletableFuture<Long> delete(String index, String id) {
        return write(new WriteOp.Delete(index, id));
    }

    /**
     * Documents whose current sequence number is in {@code (afterSeqNo, upToSeqNo]}, ascending, at most {@code size}.
     * Documents overwritten since appear once, at their newest sequence number.
     */
    CompletableFuture<List<Doc>> changesAfter(String index, long afterSeqNo, long upToSeqNo, int size);

    /** The index's checkpoint (see class comment); {@code -1} for an empty or missing index. */
    CompletableFuture<Long> checkpoint(String index);

    /**
     * Completes with the checkpoint once it is greater than {@code knownCheckpoint}, or with the current checkpoint
     * when {@code timeout} passes first. Used by change feeds to wait without polling.
     */
    CompletableFuture<Long> awaitCheckpointAfter(String index, long knownCheckpoint, Duration timeout);

    /** Releases resources; pending futures may fail with {@link StoreException.Unavailable}. */
    @Override
    void close();
}
