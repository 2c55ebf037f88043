package dev.fleetserver.core.checkin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.JsonMerge;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces checkin status writes per agent and flushes them as bulks of partial updates, so that N agents
 * cost about N writes per flush interval however often they check in. Later fields for the same agent overwrite
 * earlier ones. A failed flush is logged and dropped, like the original: the next checkin writes fresh values.
 *
 * <p>Memory: every parked agent gets a heartbeat at once, so what waits here is kept small: a heartbeat is a
 * record of two references to strings the parked checkin already holds and a timestamp; the JSON is built only
 * when flushing, and a flush works through at most {@value #MAX_BATCH} agents at a time, so it never holds every
 * agent's document at once.
 *
 * <p>A checkin of an agent whose document carries audit marks ({@code audit_unenrolled_reason}, or
 * {@code unenrolled_at} on an active agent) also removes {@code audit_unenrolled_reason}, {@code audit_unenrolled_time}
 * and {@code unenrolled_at}: the agent is evidently still there. Only the marks that checkin saw go: marks written
 * again since (a new audit before the flush) are left for the next checkin. Neither back end can remove a field with a
 * partial update, so that write replaces the whole document, conditionally on the version read, as every write here
 * is.
 */
public final class CheckinBulker {
    private static final Logger LOG = LoggerFactory.getLogger(CheckinBulker.class);
    private static final int MAX_BATCH = 2048;
    private static final int MAX_CONFLICT_RETRIES = 3;
    /** What a checkin of an agent with audit marks removes (the original's {@code deleteAuditFieldsOnCheckin}). */
    static final List<String> AUDIT_FIELDS = List.of("audit_unenrolled_reason", "audit_unenrolled_time", "unenrolled_at");

    private final FleetRepository repo;
    private final Clock clock;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();

    public CheckinBulker(FleetRepository repo, Clock clock) {
        this.repo = repo;
        this.clock = clock;
    }

    /**
     * What waits for the next flush for one agent: the time of its last checkin, the status and message of a
     * heartbeat, the fields of a full checkin (null when there was only a heartbeat), and the audit marks a checkin
     * saw and wants gone (null for none). Immutable.
     */
    private record Pending(long checkinMillis, String status, String message, ObjectNode fields, ObjectNode auditSeen) {

        Pending then(Pending later) {
            ObjectNode merged = fields;
            if (later.fields != null) {
                if (fields == null) {
                    merged = later.fields;
                } else {
                    // A copy: the value being replaced may be in the hands of a flush right now.
                    merged = fields.deepCopy();
                    JsonMerge.mergeInto(merged, later.fields);
                }
            }
            return new Pending(Math.max(checkinMillis, later.checkinMillis),
                    later.status != null ? later.status : status,
                    later.status != null ? later.message : message, merged,
                    later.auditSeen != null ? later.auditSeen : auditSeen);
        }

        Write write() {
            return new Write(document(), auditSeen);
        }

        /** The partial agent document to write. */
        private ObjectNode document() {
            ObjectNode doc = fields == null ? Json.object() : fields.deepCopy();
            if (status != null) {
                doc.put("last_checkin_status", status);
                doc.put("last_checkin_message", message);
            }
            String at = Times.millis(Instant.ofEpochMilli(checkinMillis));
            doc.put("last_checkin", at);
            doc.put("updated_at", at);
            return doc;
        }
    }

    /** One agent's write of a flush: its partial document, and the audit marks to remove with it (or null). */
    private record Write(ObjectNode fields, ObjectNode auditSeen) {
    }

    /** Queues {@code fields} (a partial agent document) for the next flush, stamped with {@code last_checkin}. */
    public void checkin(String agentId, ObjectNode fields) {
        checkin(agentId, fields, null);
    }

    /**
     * As {@link #checkin(String, ObjectNode)}, also removing the audit marks the checkin saw.
     *
     * @param auditSeen {@link #auditMarks(Agent)} of the agent as the checkin read it: the flush removes
     *                  {@code audit_unenrolled_reason}, {@code audit_unenrolled_time} and {@code unenrolled_at} while
     *                  the document still has these values; null to leave them
     */
    public void checkin(String agentId, ObjectNode fields, ObjectNode auditSeen) {
        enqueue(agentId, new Pending(clock.millis(), null, null, fields, auditSeen));
    }

    /**
     * The audit marks of an agent a checkin removes, as they are now; null when it has none to remove (the
     * original's rule: a non-empty {@code audit_unenrolled_reason} or {@code unenrolled_at}).
     */
    public static ObjectNode auditMarks(Agent agent) {
        ObjectNode source = agent.source();
        if (!nonEmpty(source.get("audit_unenrolled_reason")) && !nonEmpty(source.get("unenrolled_at"))) {
            return null;
        }
        ObjectNode seen = Json.object();
        for (String f : AUDIT_FIELDS) {
            JsonNode v = source.get(f);
            if (v != null && !v.isNull()) {
                seen.set(f, v.deepCopy());
            }
        }
        return seen;
    }

    private static boolean nonEmpty(JsonNode n) {
        return n != null && !n.isNull() && !(n.isTextual() && n.textValue().isEmpty());
    }

    /**
     * Writes {@code fields} (with anything already queued for the agent) now rather than at the next flush, by the
     * same rules as a flush; for an agent's first checkin, so that it shows as online at once instead of
     * {@code enrolling} for up to a flush interval. Completes when the store has answered; never fails (a failure
     * is logged, as in a flush).
     */
    public CompletableFuture<Void> checkinNow(String agentId, ObjectNode fields) {
        return checkinNow(agentId, fields, null);
    }

    /** {@link #checkinNow(String, ObjectNode)}, with {@code auditSeen} as for {@link #checkin(String, ObjectNode, ObjectNode)}. */
    public CompletableFuture<Void> checkinNow(String agentId, ObjectNode fields, ObjectNode auditSeen) {
        checkin(agentId, fields, auditSeen);
        Pending p = pending.remove(agentId);
        if (p == null) {
            // A flush running right now took it.
            return CompletableFuture.completedFuture(null);
        }
        Map<String, Write> one = new HashMap<>();
        one.put(agentId, p.write());
        return write(one, 0);
    }

    /** A parked agent is still there: refresh its {@code last_checkin} with the status it reported. */
    public void heartbeat(String agentId, String status, String message) {
        enqueue(agentId, new Pending(clock.millis(), status, message, null, null));
    }

    private void enqueue(String agentId, Pending p) {
        pending.merge(agentId, p, Pending::then);
    }

    public int pendingCount() {
        return pending.size();
    }

    /**
     * Writes everything queued so far; completes when the store has answered. Each update is conditional on the
     * version of the agent document read just before, and skipped when that document already carries a newer
     * {@code last_checkin} (another server saw the agent later): two servers never roll an agent's status back.
     * Nor is its policy revision rolled back: a queued {@code policy_revision_idx} lower than the stored one of the
     * same policy (an ack or another server got there first) is left out of the write, the rest is written.
     */
    public CompletableFuture<Void> flush() {
        List<Map<String, Pending>> chunks = new ArrayList<>();
        Map<String, Pending> chunk = new HashMap<>();
        Iterator<Map.Entry<String, Pending>> it = pending.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Pending> e = it.next();
            // remove(key, value) so a merge racing with the flush is kept for the next one.
            if (pending.remove(e.getKey(), e.getValue())) {
                chunk.put(e.getKey(), e.getValue());
                if (chunk.size() == MAX_BATCH) {
                    chunks.add(chunk);
                    chunk = new HashMap<>();
                }
            }
        }
        chunks.add(chunk);
        CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
        for (Map<String, Pending> c : chunks) {
            // One chunk after the other, each turned into JSON only when its turn comes.
            done = done.thenCompose(v -> {
                Map<String, Write> docs = new HashMap<>();
                c.forEach((id, p) -> docs.put(id, p.write()));
                return write(docs, 0);
            });
        }
        return done;
    }

    private CompletableFuture<Void> write(Map<String, Write> batch, int attempt) {
        if (batch.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        List<String> ids = new ArrayList<>(batch.keySet());
        // Paced: a flush is background work, and at a fleet's rate its reads share requests with the checkins'.
        List<CompletableFuture<Optional<Agent>>> reads = ids.stream().map(repo::agentPaced).toList();
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            List<WriteOp> ops = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                Optional<Agent> current = reads.get(i).join();
                Write w = batch.get(ids.get(i));
                if (current.isEmpty() || newer(current.get(), w.fields())) {
                    continue;
                }
                ops.add(op(current.get(), withoutOlderRevision(current.get(), w.fields()), w.auditSeen()));
            }
            return bulk(ops);
        }).thenCompose(conflicted -> {
            if (conflicted.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            if (attempt >= MAX_CONFLICT_RETRIES) {
                LOG.warn("checkin status of {} agents not written: they kept changing under us", conflicted.size());
                return CompletableFuture.completedFuture(null);
            }
            Map<String, Write> retry = new HashMap<>();
            conflicted.forEach(id -> retry.put(id, batch.get(id)));
            return write(retry, attempt + 1);
        }).exceptionally(t -> {
            LOG.warn("checkin status flush of {} agents failed: {}", batch.size(), t.toString());
            return null;
        });
    }

    /**
     * The write of {@code fields} over the version of the agent read: a partial update, or, when the checkin saw audit
     * marks and the document still has exactly those, the whole document without them.
     */
    static WriteOp op(Agent current, ObjectNode fields, ObjectNode auditSeen) {
        if (auditSeen != null && AUDIT_FIELDS.stream().anyMatch(current.source()::has) && sameMarks(current.source(), auditSeen)) {
            ObjectNode full = current.source().deepCopy();
            JsonMerge.mergeInto(full, fields);
            full.remove(AUDIT_FIELDS);
            return WriteOp.Put.ifUnchanged(current.doc(), full);
        }
        return WriteOp.Update.ifUnchanged(current.doc(), fields);
    }

    private static boolean sameMarks(ObjectNode source, ObjectNode seen) {
        for (String f : AUDIT_FIELDS) {
            JsonNode now = source.get(f);
            JsonNode then = seen.get(f);
            boolean nowAbsent = now == null || now.isNull();
            if (nowAbsent ? then != null : !now.equals(then)) {
                return false;
            }
        }
        return true;
    }

    /** The stored document was checked in later than what we hold (by another server). */
    private static boolean newer(Agent current, ObjectNode fields) {
        Instant stored = Times.parse(current.source().path("last_checkin").asText(null));
        Instant ours = Times.parse(fields.path("last_checkin").asText(null));
        return stored != null && ours != null && stored.isAfter(ours);
    }

    /**
     * {@code fields} without {@code agent_policy_id}/{@code policy_revision_idx} when they report an older revision
     * of the policy the stored revision is of ({@code agent_policy_id}, or {@code policy_id} where no agent ever
     * reported one); a report of another policy is written whatever its revision (the agent was moved).
     */
    static ObjectNode withoutOlderRevision(Agent current, ObjectNode fields) {
        JsonNode rev = fields.get("policy_revision_idx");
        JsonNode stored = current.source().get("policy_revision_idx");
        if (rev == null || !rev.isNumber() || stored == null || !stored.isNumber() || rev.asLong() >= stored.asLong()) {
            return fields;
        }
        String storedPolicy = current.agentPolicyId() != null ? current.agentPolicyId() : current.policyId();
        String queuedPolicy = fields.path("agent_policy_id").asText(null);
        if (storedPolicy == null || !storedPolicy.equals(queuedPolicy)) {
            return fields;
        }
        ObjectNode kept = fields.deepCopy();
        kept.remove("agent_policy_id");
        kept.remove("policy_revision_idx");
        return kept;
    }

    /** Writes in chunks; completes with the ids that hit a version conflict. */
    private CompletableFuture<List<String>> bulk(List<WriteOp> ops) {
        List<CompletableFuture<List<String>>> writes = new ArrayList<>();
        for (int i = 0; i < ops.size(); i += MAX_BATCH) {
            List<WriteOp> chunk = ops.subList(i, Math.min(ops.size(), i + MAX_BATCH));
            writes.add(repo.writeAgents(chunk).thenApply(results -> {
                logItemFailures(results);
                return results.stream().filter(r -> r.error() instanceof StoreException.Conflict).map(WriteResult::id).toList();
            }));
        }
        return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new))
                .thenApply(v -> writes.stream().flatMap(f -> f.join().stream()).toList());
    }

    private static void logItemFailures(List<WriteResult> results) {
        for (WriteResult r : results) {
            // A deleted agent has nothing left to update, a conflict is retried; anything else is worth a line.
            if (!r.ok() && !(r.error() instanceof StoreException.NotFound) && !(r.error() instanceof StoreException.Conflict)) {
                LOG.warn("checkin status update of agent {} failed: {}", r.id(), r.error().getMessage());
            }
        }
    }
}
