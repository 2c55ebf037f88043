package dev.fleetserver.core.action;

import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.util.Scheduler;
import java.time.Clock;
import java.time.Duration;
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

    private final FleetRepository repo;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Duration interval;
    private final Duration keep;
    private volatile Scheduler.Cancellable next;
    private volatile boolean stopped;

    public ActionGc(FleetRepository repo, Clock clock, Scheduler scheduler, Duration interval, Duration keep) {
        this.repo = repo;
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
        return repo.actionsExpiredBefore(clock.instant().minus(keep), PAGE).thenCompose(actions -> {
            if (actions.isEmpty()) {
                return CompletableFuture.completedFuture(deleted);
            }
            return repo.deleteActions(actions.stream().map(Action::docId).toList()).thenCompose(n -> {
                boolean more = actions.size() == PAGE && pages + 1 < MAX_PAGES_PER_RUN;
                return more ? sweep(pages + 1, deleted + n) : CompletableFuture.completedFuture(deleted + n);
            });
        });
    }
}
