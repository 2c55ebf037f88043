package dev.fleetserver.core.store;

import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Scheduler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one index in sequence-number order: waits for its checkpoint to advance, then reads everything new in
 * pages, never past the checkpoint, so no write is skipped even when writes become visible out of order. One loop
 * per index, however many agents wait on it. Errors back off and retry; the feed never gives up on its own.
 */
public final class ChangeFeed {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeFeed.class);
    static final int PAGE_SIZE = 1000;
    static final Duration WAIT = Duration.ofMinutes(4);
    static final Duration MIN_RETRY = Duration.ofMillis(500);
    static final Duration MAX_RETRY = Duration.ofSeconds(10);

    private final DocumentStore store;
    private final String index;
    private final Scheduler scheduler;
    private final Consumer<List<Doc>> handler;
    private volatile long checkpoint = -1;
    private volatile boolean stopped;
    private Duration retry = MIN_RETRY;

    /**
     * @param handler called with each page of new documents, in order, never concurrently; {@link #checkpoint()}
     *                already covers the page when it is called
     */
    public ChangeFeed(DocumentStore store, String index, Scheduler scheduler, Consumer<List<Doc>> handler) {
        this.store = store;
        this.index = index;
        this.scheduler = scheduler;
        this.handler = handler;
    }

    /** Replays every existing document to the handler, then follows new ones. */
    public CompletableFuture<Void> start() {
        return store.checkpoint(index).thenCompose(cp -> drain(-1, cp)).thenRun(this::loop);
    }

    /** Follows only documents written from now on. */
    public CompletableFuture<Void> startFromNow() {
        return store.checkpoint(index).thenAccept(cp -> {
            checkpoint = cp;
            loop();
        });
    }

    public void stop() {
        stopped = true;
    }

    /** Everything at or below this sequence number has been handed to the handler (or is being handed now). */
    public long checkpoint() {
        return checkpoint;
    }

    private void loop() {
        if (stopped) {
            return;
        }
        long known = checkpoint;
        store.awaitCheckpointAfter(index, known, WAIT)
                .thenCompose(cp -> cp > known ? drain(known, cp) : CompletableFuture.completedFuture(null))
                .whenComplete((v, t) -> {
                    if (t != null) {
                        if (!stopped) {
                            LOG.warn("change feed of {} failed, retrying in {}: {}", index, retry, Futures.unwrap(t).toString());
                        }
                        Duration wait = retry;
                        retry = retry.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : retry.multipliedBy(2);
                        scheduler.schedule(this::loop, wait);
                    } else {
                        retry = MIN_RETRY;
                        // Hop threads: a store may complete synchronously, and recursing here would grow the stack.
                        scheduler.schedule(this::loop, Duration.ZERO);
                    }
                });
    }

    /** Reads {@code (after, upTo]} page by page. */
    private CompletableFuture<Void> drain(long after, long upTo) {
        return store.changesAfter(index, after, upTo, PAGE_SIZE).thenCompose(page -> {
            boolean full = page.size() >= PAGE_SIZE;
            long next = full ? page.get(page.size() - 1).seqNo() : upTo;
            checkpoint = next;
            if (!page.isEmpty()) {
                try {
                    handler.accept(page);
                } catch (RuntimeException e) {
                    LOG.error("handler of {} change feed failed on a page; continuing", index, e);
                }
            }
            return full && next < upTo ? drain(next, upTo) : CompletableFuture.completedFuture(null);
        });
    }
}
