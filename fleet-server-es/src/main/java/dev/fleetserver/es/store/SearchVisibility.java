package dev.fleetserver.es.store;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Keeps searches seeing this process's own writes when those writes were sent without {@code refresh}: per index it
 * counts writes that landed since the last refresh, and {@link #awaitVisible} refreshes a dirty index before a
 * search runs.
 *
 * <p>The rule, per index: a write reported with {@link #written} before {@link #awaitVisible} was called is searchable
 * once the returned future completes; a write reported later may or may not be. A clean index costs nothing. At most
 * one refresh per index is in flight; every caller that the running one cannot serve (it was sent before their write
 * was reported) shares the single next one, so a burst of searches on a dirty index costs one or two refreshes, not
 * one each.
 */
final class SearchVisibility {
    private final Function<String, CompletableFuture<Void>> refresh;
    private final Map<String, IndexState> indices = new ConcurrentHashMap<>();

    /** @param refresh makes everything indexed into the index before the call searchable ({@code POST /<index>/_refresh}) */
    SearchVisibility(Function<String, CompletableFuture<Void>> refresh) {
        this.refresh = refresh;
    }

    /** Reports writes to {@code index} that Elasticsearch applied without a refresh; call before acknowledging them. */
    void written(String index) {
        state(index).written();
    }

    /** Completes when every write reported before this call is searchable: at once when the index is clean. */
    CompletableFuture<Void> awaitVisible(String index) {
        IndexState state = indices.get(index);
        return state == null ? CompletableFuture.completedFuture(null) : state.awaitVisible();
    }

    /**
     * Completes after a refresh of {@code index} that started after this call, whether or not this process wrote to
     * it: for writes made elsewhere (Kibana, another Fleet Server) that are known to have landed.
     */
    CompletableFuture<Void> refreshNow(String index) {
        IndexState state = state(index);
        state.written();
        return state.awaitVisible();
    }

    private IndexState state(String index) {
        return indices.computeIfAbsent(index, IndexState::new);
    }

    private final class IndexState {
        private final String index;
        /** Generation of the newest reported write. */
        private long written;
        /** Every write up to this generation is searchable. */
        private long visible;
        private CompletableFuture<Void> inFlight;
        /** The generation {@link #inFlight} covers: what was reported when it was sent. */
        private long inFlightCovers;
        /** Waiters that {@link #inFlight} cannot serve; sent as soon as it ends. */
        private CompletableFuture<Void> next;

        IndexState(String index) {
            this.index = index;
        }

        synchronized void written() {
            written++;
        }

        CompletableFuture<Void> awaitVisible() {
            CompletableFuture<Void> start;
            long covers;
            synchronized (this) {
                if (visible >= written) {
                    return CompletableFuture.completedFuture(null);
                }
                if (inFlight != null) {
                    if (inFlightCovers >= written) {
                        return inFlight;
                    }
                    if (next == null) {
                        next = new CompletableFuture<>();
                    }
                    return next;
                }
                start = inFlight = new CompletableFuture<>();
                covers = inFlightCovers = written;
            }
            send(start, covers);
            return start;
        }

        private void send(CompletableFuture<Void> done, long covers) {
            CompletableFuture<Void> sent;
            try {
                sent = refresh.apply(index);
            } catch (RuntimeException e) {
                sent = CompletableFuture.failedFuture(e);
            }
            sent.whenComplete((v, t) -> {
                CompletableFuture<Void> following;
                long followingCovers = 0;
                synchronized (this) {
                    if (t == null) {
                        visible = Math.max(visible, covers);
                    }
                    following = next;
                    next = null;
                    inFlight = following;
                    if (following != null) {
                        followingCovers = inFlightCovers = written;
                    }
                }
                // State first, then the waiters: a search they issue next must already see this refresh.
                if (t == null) {
                    done.complete(null);
                } else {
                    done.completeExceptionally(t);
                }
                if (following != null) {
                    send(following, followingCovers);
                }
            });
        }
    }
}
