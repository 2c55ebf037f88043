package dev.fleetserver.core.metrics;

import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import dev.fleetserver.core.util.Futures;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A {@link DocumentStore} that reports the latency and failures of every call of the store it wraps to
 * {@link FleetMetrics#storeCall}. Same contract as the wrapped store: results and failures pass through untouched.
 * The single-document writes are the interface's defaults, so they are measured as the {@code bulk} they become.
 */
public final class MeteredDocumentStore implements DocumentStore {
    private final DocumentStore store;
    private final FleetMetrics metrics;

    public MeteredDocumentStore(DocumentStore store, FleetMetrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    private <T> CompletableFuture<T> timed(String operation, Supplier<CompletableFuture<T>> call) {
        long start = System.nanoTime();
        CompletableFuture<T> result = call.get();
        result.whenComplete((v, t) -> metrics.storeCall(operation, System.nanoTime() - start, t != null && !answered(t)));
        return result;
    }

    /** A missing document or a lost race is the store's answer, not its failure. */
    private static boolean answered(Throwable t) {
        Throwable cause = Futures.unwrap(t);
        return cause instanceof StoreException.NotFound || cause instanceof StoreException.Conflict;
    }

    @Override
    public CompletableFuture<Optional<Doc>> get(String index, String id) {
        return timed("get", () -> store.get(index, id));
    }

    @Override
    public CompletableFuture<Optional<Doc>> getPaced(String index, String id) {
        return timed("get", () -> store.getPaced(index, id));
    }

    @Override
    public CompletableFuture<List<Doc>> search(String index, Query query) {
        return timed("search", () -> store.search(index, query));
    }

    @Override
    public CompletableFuture<Long> count(String index, Query query) {
        return timed("count", () -> store.count(index, query));
    }

    @Override
    public CompletableFuture<List<WriteResult>> bulk(List<WriteOp> ops) {
        return timed("bulk", () -> store.bulk(ops));
    }

    @Override
    public CompletableFuture<List<Doc>> changesAfter(String index, long afterSeqNo, long upToSeqNo, int size) {
        return timed("changes", () -> store.changesAfter(index, afterSeqNo, upToSeqNo, size));
    }

    @Override
    public CompletableFuture<Long> checkpoint(String index) {
        return timed("checkpoint", () -> store.checkpoint(index));
    }

    /** A long poll by design: measured under its own name so it does not drown the latency of real requests. */
    @Override
    public CompletableFuture<Long> awaitCheckpointAfter(String index, long knownCheckpoint, Duration timeout) {
        return timed("await_checkpoint", () -> store.awaitCheckpointAfter(index, knownCheckpoint, timeout));
    }

    @Override
    public void close() {
        store.close();
    }

    @Override
    public String toString() {
        return store.toString();
    }
}
