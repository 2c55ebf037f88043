package dev.fleetserver.core.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.GoTime;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * {@code POST /api/fleet/agents/{id}/audit/unenroll}: an agent tells why it is going away (uninstalled, orphaned, its
 * key revoked, migrated to another cluster), and the reason and the agent's own time of it are recorded on its
 * document ({@code audit_unenrolled_reason}, {@code audit_unenrolled_time}), where Kibana shows it as the agent's
 * status. The agent's next checkin removes the marks again (see the checkin bulker).
 *
 * <p>An agent already marked {@code orphaned} is refused ({@link FleetError#AUDIT_REASON_CONFLICT}), before its
 * body is read, as the original does. The write is conditional on the document read, so an orphaned mark written
 * meanwhile by another request is never overwritten either.
 */
public final class AuditService {
    /** The reasons an agent may send. */
    public static final Set<String> REASONS = Set.of("uninstall", "orphaned", "key_revoked", "migrated");
    /** The fields an audit writes and the agent's next checkin removes (with {@code unenrolled_at}). */
    public static final List<String> MARKS = List.of("audit_unenrolled_reason", "audit_unenrolled_time");
    static final String ORPHANED = "orphaned";
    /** As the original's {@code retry_on_conflict}. */
    private static final int MAX_CONFLICT_RETRIES = 3;

    private final FleetRepository repo;
    private final Clock clock;

    public AuditService(FleetRepository repo, Clock clock) {
        this.repo = repo;
        this.clock = clock;
    }

    /**
     * The check made before the body is read.
     *
     * @throws FleetException {@link FleetError#AUDIT_REASON_CONFLICT} when the agent is already marked orphaned
     */
    public void admit(Agent agent) {
        if (ORPHANED.equals(Json.text(agent.source(), "audit_unenrolled_reason"))) {
            throw new FleetException(FleetError.AUDIT_REASON_CONFLICT);
        }
    }

    /**
     * Records the audit of an authenticated agent admitted by {@link #admit}.
     *
     * @param body the decoded JSON body ({@code {"reason", "timestamp"}}); null or missing for an empty one
     * @return completes once the document is written; fails with a 400 {@link FleetException} for a bad body
     */
    public CompletableFuture<Void> unenroll(Agent agent, JsonNode body) {
        Request req;
        try {
            req = Request.parse(body);
        } catch (FleetException e) {
            return CompletableFuture.failedFuture(e);
        }
        return mark(agent, req, 0);
    }

    private CompletableFuture<Void> mark(Agent agent, Request req, int attempt) {
        try {
            admit(agent);
        } catch (FleetException e) {
            return CompletableFuture.failedFuture(e);
        }
        ObjectNode partial = Json.object();
        partial.put("updated_at", Times.seconds(clock.instant()));
        partial.put("audit_unenrolled_time", req.timestamp());
        partial.put("audit_unenrolled_reason", req.reason());
        return repo.updateAgentIfUnchanged(agent, partial).<Void>thenApply(seq -> null).exceptionallyCompose(t -> {
            Throwable cause = Futures.unwrap(t);
            if (cause instanceof StoreException.Conflict && attempt < MAX_CONFLICT_RETRIES) {
                return repo.agent(agent.id()).thenCompose(current -> current.isPresent()
                        ? mark(current.get(), req, attempt + 1)
                        : CompletableFuture.failedFuture(new FleetException(FleetError.AGENT_NOT_FOUND)));
            }
            if (cause instanceof StoreException.NotFound) {
                // Deleted since it was authenticated (re-enrolled, removed by an operator).
                return CompletableFuture.failedFuture(new FleetException(FleetError.AGENT_NOT_FOUND));
            }
            return CompletableFuture.failedFuture(cause);
        });
    }

    /**
     * An audit request: a known reason and the agent's RFC 3339 timestamp, normalised as the original stores it.
     */
    record Request(String reason, String timestamp) {
        private static final String DECODE = "unable to decode audit/unenroll request: ";

        static Request parse(JsonNode root) {
            if (root == null || root.isMissingNode()) {
                throw FleetException.badRequest(DECODE + "EOF");
            }
            if (!root.isObject()) {
                throw FleetException.badRequest(DECODE + "expected a JSON object");
            }
            String reason = text(root, "reason");
            String timestamp = text(root, "timestamp");
            String normalised = null;
            if (timestamp != null) {
                try {
                    normalised = GoTime.normalise(timestamp);
                } catch (IllegalArgumentException e) {
                    throw FleetException.badRequest(DECODE + e.getMessage());
                }
            }
            if (reason == null || !REASONS.contains(reason)) {
                throw FleetException.badRequest("audit/unenroll request invalid reason");
            }
            if (normalised == null) {
                // Elastic Agent always sends one; without it there is nothing true to record.
                throw FleetException.badRequest("audit/unenroll request timestamp missing");
            }
            return new Request(reason, normalised);
        }

        private static String text(JsonNode root, String field) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return null;
            }
            if (!n.isTextual()) {
                throw FleetException.badRequest(DECODE + field + " must be a string");
            }
            return n.textValue();
        }
    }
}
