package dev.fleetserver.core.action;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.longpoll.CheckinRegistry;
import dev.fleetserver.core.longpoll.CheckinResponse;
import dev.fleetserver.core.longpoll.ParkedCheckin;
import dev.fleetserver.core.metrics.FleetMetrics;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.ChangeFeed;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Scheduler;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Follows {@code .fleet-actions} and hands each new action straight to the parked checkins of the agents it
 * targets. Agents not parked pick it up from the store on their next checkin, because their {@code action_seq_no}
 * has not moved.
 */
public final class ActionMonitor {
    private final CheckinRegistry registry;
    private final ActionSecrets secrets;
    private final Clock clock;
    private final ChangeFeed feed;
    private final FleetMetrics metrics;

    public ActionMonitor(FleetRepository repo, CheckinRegistry registry, ActionSecrets secrets, Clock clock, Scheduler scheduler) {
        this(repo, registry, secrets, clock, scheduler, FleetMetrics.NONE);
    }

    public ActionMonitor(FleetRepository repo, CheckinRegistry registry, ActionSecrets secrets, Clock clock, Scheduler scheduler,
                            FleetMetrics metrics) {
        this.metrics = metrics;
        this.registry = registry;
        this.secrets = secrets;
        this.clock = clock;
        this.feed = repo.changeFeed(FleetIndex.ACTIONS, scheduler, this::onChanges);
    }

    public CompletableFuture<Void> start() {
        return feed.startFromNow();
    }

    public void stop() {
        feed.stop();
    }

    /**
     * Every action at or below this sequence number has been (or is being) dispatched to the checkins parked at
     * that time; a checkin that registers itself first and then queries up to here misses nothing.
     */
    public long checkpoint() {
        return feed.checkpoint();
    }

    private void onChanges(List<Doc> docs) {
        Instant now = clock.instant();
        long seen = System.nanoTime();
        List<Action> deliverable = new ArrayList<>();
        for (Doc d : docs) {
            Action action = new Action(d);
            if (action.deliverable() && !action.expiredAt(now)) {
                deliverable.add(action);
            }
        }
        if (deliverable.isEmpty()) {
            return;
        }
        // Agents parked after this point find these actions themselves (the checkpoint already covers them).
        secrets.resolve(deliverable).thenAccept(resolved -> dispatch(resolved, seen)).exceptionally(t -> {
            org.slf4j.LoggerFactory.getLogger(ActionMonitor.class)
                    .warn("actions not dispatched live (agents get them on their next checkin): {}", t.toString());
            return null;
        });
    }

    private void dispatch(List<Action> actions, long seenNanos) {
        Map<ParkedCheckin, List<Action>> batches = new LinkedHashMap<>();
        for (Action action : actions) {
            for (String agentId : action.agents()) {
                ParkedCheckin parked = registry.forAgent(agentId);
                if (parked != null && action.seqNo() > parked.actionSeqNo() && parked.acceptsLiveActions()) {
                    batches.computeIfAbsent(parked, k -> new ArrayList<>()).add(action);
                }
            }
        }
        batches.forEach((parked, forAgent) -> {
            if (parked.complete(response(parked.agentId(), forAgent))) {
                metrics.fannedOut(FleetMetrics.FanOut.ACTION, seenNanos);
            }
        });
    }

    /** A checkin answer carrying these actions; the ack token is the last action document's id. */
    public static CheckinResponse response(String agentId, List<Action> actions) {
        ObjectNode body = Json.object();
        body.put("ack_token", actions.get(actions.size() - 1).docId());
        body.put("action", "checkin");
        ArrayNode list = body.putArray("actions");
        for (Action a : actions) {
            list.add(ActionFormatter.format(a, agentId));
        }
        return new CheckinResponse(Json.bytes(body));
    }
}
