package dev.fleetserver.core.ack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.agent.AgentKeyRevoker;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.policy.AgentOutputKeys;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.GoTime;
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

    private final FleetRepository repo;
    private final AgentKeyRevoker keyRevoker;
    private final AgentOutputKeys outputKeys;
    private final Clock clock;

    public AckService(FleetRepository repo, AgentKeyRevoker keyRevoker, Clock clock) {
        this(repo, keyRevoker, null, clock);
    }

    /** @param outputKeys retires replaced output keys once a newer revision is acked; {@code null}: none are issued */
    public AckService(FleetRepository repo, AgentKeyRevoker keyRevoker, AgentOutputKeys outputKeys, Clock clock) {
        this.repo = repo;
        this.keyRevoker = keyRevoker;
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
            Action action = found.get();
            ObjectNode result;
            try {
                result = actionResult(action, actionId, agent.id(), event, clock.instant());
            } catch (FleetException e) {
                return CompletableFuture.completedFuture(new AckResult.Item(400, e.getMessage()));
            }
            return repo.createActionResult(actionId, agent.id(), result)
                    .thenCompose(v -> applyEffect(agent, action, event))
                    .thenApply(v -> new AckResult.Item(200, "OK"));
        });
    }

    /**
     * The {@code .fleet-actions-results} document of an ack event, as the original writes it: {@code @timestamp} is
     * the agent's {@code timestamp} (the server's time only when the event has none), {@code namespaces} those of the
     * action, timestamps normalised as Go writes them back (RFC 3339, the sender's offset, no trailing zeros), and
     * per action type only the fields that type has: {@code data.upload_id} for REQUEST_DIAGNOSTICS; the input type,
     * start and end and the opaque {@code action_data}/{@code action_response} for INPUT_ACTION; ids, timestamp and
     * {@code error} for every other type. A field of the wrong kind or an unreadable timestamp is a
     * {@code Bad request} (the item's 400) and nothing is written.
     */
    static ObjectNode actionResult(Action action, String actionId, String agentId, JsonNode event, java.time.Instant now) {
        ObjectNode result = Json.object();
        result.put("action_id", actionId);
        result.put("agent_id", agentId);
        JsonNode ns = action.field("namespaces");
        if (ns != null && ns.isArray() && !ns.isEmpty()) {
            result.set("namespaces", ns.deepCopy());
        }
        String timestamp = eventTime(event, "timestamp");
        result.put("@timestamp", timestamp != null ? timestamp : Times.seconds(now));
        String error = eventText(event, "error");
        if (error != null && !error.isEmpty()) {
            result.put("error", error);
        }
        switch (action.type() == null ? "" : action.type()) {
            case "REQUEST_DIAGNOSTICS" -> {
                JsonNode data = event.get("data");
                if (data != null && !data.isNull()) {
                    if (!data.isObject()) {
                        throw FleetException.badRequest("data must be an object");
                    }
                    String uploadId = eventText(data, "upload_id");
                    result.putObject("data").put("upload_id", uploadId == null ? "" : uploadId);
                }
            }
            case "INPUT_ACTION" -> {
                String inputType = eventText(event, "action_input_type");
                if (inputType != null && !inputType.isEmpty()) {
                    result.put("action_input_type", inputType);
                }
                for (String f : List.of("started_at", "completed_at")) {
                    String t = eventTime(event, f);
                    if (t != null) {
                        result.put(f, t);
                    }
                }
                for (String f : List.of("action_data", "action_response")) {
                    JsonNode v = event.get(f);
                    if (v != null && !v.isNull()) {
                        result.set(f, v.deepCopy());
                    }
                }
            }
            default -> {
            }
        }
        return result;
    }

    /** A string member of an ack event, or null when absent or JSON null. */
    private static String eventText(JsonNode event, String field) {
        JsonNode n = event.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw FleetException.badRequest(field + " must be a string");
        }
        return n.textValue();
    }

    /** An RFC 3339 member of an ack event as the original stores it, or null when absent. */
    private static String eventTime(JsonNode event, String field) {
        String text = eventText(event, field);
        if (text == null) {
            return null;
        }
        try {
            return GoTime.normalise(text);
        } catch (IllegalArgumentException e) {
            throw FleetException.badRequest(field + ": " + e.getMessage());
        }
    }

    /** What an acked action changes on the agent (the original's handleAck side effects). */
    private CompletableFuture<Void> applyEffect(Agent agent, Action action, JsonNode event) {
        boolean failed = event.hasNonNull("error") && !event.get("error").asText().isEmpty();
        String type = action.type() == null ? "" : action.type();
        switch (type) {
            case "UNENROLL", "MIGRATE" -> {
                return failed ? CompletableFuture.completedFuture(null) : keyRevoker.unenroll(agent);
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
