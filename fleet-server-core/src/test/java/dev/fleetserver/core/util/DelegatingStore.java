package dev.fleetserver.core.util;

import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** A {@link DocumentStore} that forwards everything to another; tests override single calls to delay or observe them. */
public class DelegatingStore implements DocumentStore {
    protected final DocumentStore delegate;

    public DelegatingStore(DocumentStore delegate) {
        this.delegate = delegate;
    }

    @Override
    public CompletableFuture<Optional<Doc>> get(String index, String id) {
        return delegate.get(index, id);
    }

    @Override
    public CompletableFuture<List<Doc>> search(String index, Query query) {
        return delegate.search(index, query);
    }

    @Override
    public CompletableFuture<Long> count(String index, Query query) {
        return delegate.count(index, query);
    }

    @Override
    public CompletableFuture<List<WriteResult>> bulk(List<WriteOp> ops) {
        return delegate.bulk(ops);
    }

    @Override
    public CompletableFuture<List<Doc>> changesAfter(String index, long afterSeqNo, long upToSeqNo, int size) {
        return delegate.changesAfter(index, afterSeqNo, upToSeqNo, size);
    }

    @Override
    public CompletableFuture<Long> checkpoint(String index) {
        return delegate.checkpoint(index);
    }

    @Override
    public CompletableFuture<Long> awaitCheckpointAfter(String index, long knownCheckpoint, Duration timeout) {
        return delegate.awaitCheckpointAfter(index, knownCheckpoint, timeout);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
