package dev.fleetserver.core.ack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.policy.AgentOutputKeys;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * {@code POST /api/fleet/agents/{id}/acks}: records one action result per acked action and applies what acks change.
 * A policy ack ({@code policy:<id>:<rev>}) moves the agent's {@code policy_revision_idx} forward, never back; acking
 * the same thing twice is harmless.
 */
public final class AckService {
    /**
     * Times a policy ack re-reads the agent and tries again when a concurrent write (a status flush, another server)
     * changed the document between its read and its conditional write; beyond it the request fails as retryable.
     */
    private static final int MAX_CONFLICT_RETRIES = 10;
    /** Fields of an ack event copied into the action result (besides ids and timestamp). */
    private static final List<String> RESULT_FIELDS = List.of("error", "data", "action_input_type", "action_data",
            "action_response", "started_at", "completed_at");

    private final FleetRepository repo;
    private final AgentKeys agentKeys;
    private final AgentOutputKeys outputKeys;
    private final Clock clock;

    public AckService(FleetRepository repo, AgentKeys agentKeys, Clock clock) {
        this(repo, agentKeys, null, clock);
    }

    /** @param outputKeys retires replaced output keys once a newer revision is acked; {@code null}: none are issued */
    public AckService(FleetRepository repo, AgentKeys agentKeys, AgentOutputKeys outputKeys, Clock clock) {
        this.repo = repo;
        this.agentKeys = agentKeys;
        this.outputKeys = outputKeys;
        this.clock = clock;
    }

    /**
     * Processes the events of an authenticated agent.
     *
     * @param body the decoded JSON body; null or missing for an empty one
     */
    public CompletableFuture<AckResult> ack(Agent agent, JsonNode body) {
        List<JsonNode> events = parse(body);
        List<Supplier<CompletableFuture<AckResult.Item>>> items = new ArrayList<>();
        List<String> policyAcks = new ArrayList<>();
        for (JsonNode event : events) {
            String agentId = event.path("agent_id").asText("");
            String actionId = event.path("action_id").asText("");
            String badId = badId(agentId, actionId);
            if (badId != null) {
                items.add(() -> CompletableFuture.completedFuture(new AckResult.Item(400, badId)));
            } else if (!agentId.isEmpty() && !agentId.equals(agent.id())) {
                items.add(() -> CompletableFuture.completedFuture(new AckResult.Item(400, "Bad Request")));
            } else if (actionId.startsWith("policy:")) {
                if (event.get("error") == null || event.get("error").isNull()) {
                    policyAcks.add(actionId);
                }
                items.add(() -> CompletableFuture.completedFuture(new AckResult.Item(200, "OK")));
            } else {
                items.add(() -> ackAction(agent, actionId, event));
            }
        }
        CompletableFuture<Void> policy = policyAcks.isEmpty()
                ? CompletableFuture.completedFuture(null)
                : ackPolicy(agent, policyAcks, 0);
        // The actions' effects start once the policy ack is written: both may update the agent document, and the
        // policy ack's update is conditional on the version it read.
        return policy.thenCompose(v -> {
            List<CompletableFuture<AckResult.Item>> started = items.stream().map(Supplier::get).toList();
            return CompletableFuture.allOf(started.toArray(CompletableFuture[]::new))
                    .thenApply(x -> new AckResult(started.stream().map(CompletableFuture::join).toList()));
        });
    }

    /** Why an event's ids cannot be looked up ({@code Bad request: <field> ...}), or null when they can. */
    private static String badId(String agentId, String actionId) {
        String problem = DocumentIds.problem("agent_id", agentId);
        if (problem == null) {
            problem = DocumentIds.problem("action_id", actionId);
        }
        return problem == null ? null : "Bad request: " + problem;
    }

    /**
     * Records the result of an action addressed to this agent. An action that exists but was not sent to it is
     * refused (403) with nothing written: an agent answers only for itself, even though the original lets it answer
     * for anyone. An action without {@code agents} was never delivered to any agent, so it is refused too.
     */
    private CompletableFuture<AckResult.Item> ackAction(Agent agent, String actionId, JsonNode event) {
        return repo.actionAddressedTo(actionId, agent.id()).thenCompose(found -> {
            if (found.isEmpty()) {
                return repo.actionByActionId(actionId).thenApply(other -> other.isPresent()
                        ? new AckResult.Item(403, "Forbidden")
                        : new AckResult.Item(404, "Not Found"));
            }
            ObjectNode result = Json.object();
            result.put("@timestamp", Times.millis(clock.instant()));
            result.put("action_id", actionId);
            result.put("agent_id", agent.id());
            JsonNode ns = agent.source().get("namespaces");
            if (ns != null && ns.isArray() && !ns.isEmpty()) {
                result.set("namespaces", ns);
            }
            for (String f : RESULT_FIELDS) {
                JsonNode v = event.get(f);
                if (v != null && !v.isNull() && !(v.isTextual() && v.textValue().isEmpty())) {
                    result.set(f, v);
                }
            }
            Action action = found.get();
            return repo.createActionResult(actionId, agent.id(), result)
                    .thenCompose(v -> applyEffect(agent, action, event))
                    .thenApply(v -> new AckResult.Item(200, "OK"));
        });
    }

    /** What an acked action changes on the agent (the original's handleAck side effects). */
    private CompletableFuture<Void> applyEffect(Agent agent, Action action, JsonNode event) {
        boolean failed = event.hasNonNull("error") && !event.get("error").asText().isEmpty();
        String type = action.type() == null ? "" : action.type();
        switch (type) {
            case "UNENROLL", "MIGRATE" -> {
                return failed ? CompletableFuture.completedFuture(null) : agentKeys.unenroll(agent);
            }
            case "UPGRADE" -> {
                return upgradeAcked(agent, failed, event.path("payload"));
            }
            default -> {
                return CompletableFuture.completedFuture(null);
            }
        }
    }

    /** The legacy upgrade ack path: a success marks the upgrade done; a failure that will not be retried clears the start. */
    private CompletableFuture<Void> upgradeAcked(Agent agent, boolean failed, JsonNode payload) {
        ObjectNode partial = Json.object();
        if (failed) {
            if (payload.path("retry").asBoolean(false)) {
                return CompletableFuture.completedFuture(null);
            }
            partial.putNull("upgrade_started_at");
        } else {
            String now = Times.millis(clock.instant());
            partial.putNull("upgrade_started_at");
            partial.put("upgraded_at", now);
            if (!agent.source().hasNonNull("upgrade_details")) {
                partial.putNull("upgrade_attempts");
            }
        }
        partial.put("updated_at", Times.millis(clock.instant()));
        return repo.updateAgent(agent.id(), partial).thenApply(s -> null);
    }

    /** Moves {@code policy_revision_idx} to the highest acked revision of the agent's current policy, if higher. */
    private CompletableFuture<Void> ackPolicy(Agent agent, List<String> acks, int attempt) {
        long best = -1;
        for (String ack : acks) {
            String[] parts = ack.split(":");
            if (parts.length < 3 || !parts[1].equals(agent.policyId())) {
                continue;
            }
            try {
                best = Math.max(best, Long.parseLong(parts[2]));
            } catch (NumberFormatException e) {
                // a malformed revision acks nothing, like the original
            }
        }
        if (best <= agent.policyRevisionIdx()) {
            return CompletableFuture.completedFuture(null);
        }
        long acked = best;
        // The agent runs a revision it got after any key replaced so far: the replaced keys can go now.
        CompletableFuture<ObjectNode> retired = outputKeys == null
                ? CompletableFuture.completedFuture(Json.object())
                : outputKeys.retireAcked(agent, agent.policyId(), acked);
        return retired.thenCompose(outputs -> {
            ObjectNode partial = outputs.deepCopy();
            // The pair says which policy the revision is of, so that a status flush can tell an older report of
            // the same policy (never written over this) from a report of another policy.
            partial.put("agent_policy_id", agent.policyId());
            partial.put("policy_revision_idx", acked);
            partial.put("updated_at", Times.millis(clock.instant()));
            // Conditional on the version we read: a concurrent reassign or newer ack is never rolled back.
            return repo.updateAgentIfUnchanged(agent, partial);
        }).<Void>thenApply(s -> null)
                .exceptionallyCompose(t -> {
                    if (Futures.unwrap(t) instanceof StoreException.Conflict && attempt < MAX_CONFLICT_RETRIES) {
                        return repo.agent(agent.id()).thenCompose(a -> a.isPresent()
                                ? ackPolicy(a.get(), acks, attempt + 1)
                                : CompletableFuture.completedFuture(null));
                    }
                    return CompletableFuture.failedFuture(t);
                });
    }

    private static List<JsonNode> parse(JsonNode root) {
        if (root == null || root.isMissingNode()) {
            throw FleetException.badRequest("unable to decode ack request: EOF");
        }
        if (!root.isObject()) {
            throw FleetException.badRequest("unable to decode ack request: expected a JSON object");
        }
        JsonNode events = root.get("events");
        List<JsonNode> out = new ArrayList<>();
        if (events == null || events.isNull()) {
            return out;
        }
        if (!events.isArray()) {
            throw FleetException.badRequest("unable to decode ack request: events must be an array");
        }
        for (JsonNode e : events) {
            if (!e.isObject()) {
                throw FleetException.badRequest("unable to decode ack request: each event must be an object");
            }
            out.add(e);
        }
        return out;
    }
}
