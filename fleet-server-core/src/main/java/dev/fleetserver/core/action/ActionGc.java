package dev.fleetserver.core.action;

import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.util.Scheduler;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes action documents whose {@code expiration} passed more than {@code keep} ago (30 days by default), like the
 * original's hourly "fleet actions cleanup" — by search and bulk delete in pages, since neither back end may offer
 * {@code _delete_by_query}. First run after about 10 s, then every {@code interval}, both ±10 %.
 */
public final class ActionGc {
    private static final Logger LOG = LoggerFactory.getLogger(ActionGc.class);
    private static final int PAGE = 1000;
    private static final int MAX_PAGES_PER_RUN = 100;

    private final DocumentStore store;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Duration interval;
    private final Duration keep;
    private volatile Scheduler.Cancellable next;
    private volatile boolean stopped;

    public ActionGc(DocumentStore store, Clock clock, Scheduler scheduler, Duration interval, Duration keep) {
        this.store = store;
        this.clock = clock;
        this.scheduler = scheduler;
        this.interval = interval;
        this.keep = keep;
    }

    public void start() {
        schedule(Duration.ofSeconds(10));
    }

    public void stop() {
        stopped = true;
        if (next != null) {
            next.cancel();
        }
    }

    private void schedule(Duration base) {
        if (stopped) {
            return;
        }
        long jitter = (long) (base.toMillis() * (ThreadLocalRandom.current().nextDouble(0.2) - 0.1));
        next = scheduler.schedule(() -> runOnce().whenComplete((n, t) -> schedule(interval)), base.plusMillis(jitter));
    }

    /** Deletes one sweep's worth of long-expired actions; completes with how many were deleted. */
    public CompletableFuture<Integer> runOnce() {
        return sweep(0, 0).whenComplete((n, t) -> {
            if (t != null) {
                LOG.warn("action cleanup failed: {}", t.toString());
            } else if (n > 0) {
                LOG.info("deleted {} actions expired more than {} ago", n, keep);
            }
        });
    }

    private CompletableFuture<Integer> sweep(int pages, int deleted) {
        String cutoff = Times.millis(clock.instant().minus(keep));
        Query q = Query.where().filter(new dev.fleetserver.core.store.Filter.Range("expiration", null, null, null,
                com.fasterxml.jackson.databind.node.TextNode.valueOf(cutoff))).size(PAGE);
        return store.search(FleetIndex.ACTIONS, q).thenCompose(docs -> {
            if (docs.isEmpty()) {
                return CompletableFuture.completedFuture(deleted);
            }
            List<WriteOp> deletes = docs.stream().<WriteOp>map(d -> new WriteOp.Delete(FleetIndex.ACTIONS, d.id())).toList();
            return store.bulk(deletes).thenCompose(results -> {
                int n = (int) results.stream().filter(r -> r.ok() || r.error() instanceof StoreException.NotFound).count();
                boolean more = docs.size() == PAGE && pages + 1 < MAX_PAGES_PER_RUN;
                return more ? sweep(pages + 1, deleted + n) : CompletableFuture.completedFuture(deleted + n);
            });
        });
    }
}
