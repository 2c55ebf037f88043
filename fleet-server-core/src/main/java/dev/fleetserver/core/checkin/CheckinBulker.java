package dev.fleetserver.core.checkin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.JsonMerge;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces checkin status writes per agent and flushes them as one bulk of partial updates, so that N agents
 * cost about N writes per flush interval however often they check in. Later fields for the same agent overwrite
 * earlier ones. A failed flush is logged and dropped, like the original: the next checkin writes fresh values.
 */
public final class CheckinBulker {
    private static final Logger LOG = LoggerFactory.getLogger(CheckinBulker.class);
    private static final int MAX_BATCH = 2048;

    private final FleetRepository repo;
    private final Clock clock;
    private final Map<String, ObjectNode> pending = new ConcurrentHashMap<>();

    public CheckinBulker(FleetRepository repo, Clock clock) {
        this.repo = repo;
        this.clock = clock;
    }

    /** Queues {@code fields} (a partial agent document) for the next flush, stamped with {@code last_checkin}. */
    public void checkin(String agentId, ObjectNode fields) {
        String now = Times.millis(clock.instant());
        fields.put("last_checkin", now);
        fields.put("updated_at", now);
        pending.merge(agentId, fields, (old, add) -> {
            JsonMerge.mergeInto(old, add);
            return old;
        });
    }

    /** A parked agent is still there: refresh its {@code last_checkin} with the status it reported. */
    public void heartbeat(String agentId, String status, String message) {
        ObjectNode fields = Json.object();
        fields.put("last_checkin_status", status);
        fields.put("last_checkin_message", message);
        checkin(agentId, fields);
    }

    public int pendingCount() {
        return pending.size();
    }

    /** Writes everything queued so far; completes when the store has answered. */
    public CompletableFuture<Void> flush() {
        List<WriteOp> ops = new ArrayList<>();
        Iterator<Map.Entry<String, ObjectNode>> it = pending.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, ObjectNode> e = it.next();
            // remove(key, value) so a merge racing with the flush is kept for the next one.
            if (pending.remove(e.getKey(), e.getValue())) {
                ops.add(new WriteOp.Update(FleetIndex.AGENTS, e.getKey(), e.getValue()));
            }
        }
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < ops.size(); i += MAX_BATCH) {
            List<WriteOp> batch = ops.subList(i, Math.min(ops.size(), i + MAX_BATCH));
            writes.add(repo.store().bulk(batch).handle((results, t) -> {
                if (t != null) {
                    LOG.warn("checkin status flush of {} agents failed: {}", batch.size(), t.toString());
                } else {
                    logItemFailures(results);
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new));
    }

    private static void logItemFailures(List<WriteResult> results) {
        for (WriteResult r : results) {
            // A deleted agent has nothing left to update; anything else is worth a line.
            if (!r.ok() && !(r.error() instanceof StoreException.NotFound)) {
                LOG.warn("checkin status update of agent {} failed: {}", r.id(), r.error().getMessage());
            }
        }
    }
}
