package dev.fleetserver.core.checkin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.action.ActionMonitor;
import dev.fleetserver.core.action.ActionSecrets;
import dev.fleetserver.core.auth.UserAgentCheck;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.longpoll.CheckinRegistry;
import dev.fleetserver.core.longpoll.CheckinResponse;
import dev.fleetserver.core.longpoll.CheckinSink;
import dev.fleetserver.core.longpoll.ParkedCheckin;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.HeldOutputKeys;
import dev.fleetserver.core.policy.AgentOutputKeys;
import dev.fleetserver.core.policy.PolicyMonitor;
import dev.fleetserver.core.policy.PreparedPolicy;
import dev.fleetserver.core.util.GoDuration;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Scheduler;
import dev.fleetserver.core.util.SharedStrings;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code POST /api/fleet/agents/{id}/checkin}, the long poll. Records what the agent reports (coalesced, not one
 * write per checkin), then either answers at once (pending actions, a newer policy revision) or parks the request
 * until an action or revision arrives, the poll times out, or the server stops.
 *
 * <p>No lost wake-ups: the checkin is registered before the store is asked for pending actions and before the
 * policy revision is compared, so anything that lands in between wakes it.
 */
public final class CheckinService {
    private static final int MAX_ACTIONS = 100;
    private static final Duration MIN_POLL = Duration.ofMinutes(1);
    private static final Duration POLL_MARGIN = Duration.ofMinutes(2);

    private final FleetRepository repo;
    private final UserAgentCheck userAgents;
    private final PolicyMonitor policies;
    private final AgentOutputKeys agentKeys;
    private final ActionMonitor actions;
    private final ActionSecrets secrets;
    private final CheckinBulker bulker;
    private final CheckinRegistry registry;
    private final SharedStrings strings = new SharedStrings();
    private final CheckinSettings settings;
    private final Clock clock;
    private final Scheduler scheduler;
    private volatile boolean stopping;
    private Scheduler.Cancellable heartbeatTask;
    private Scheduler.Cancellable flushTask;

    public CheckinService(FleetRepository repo, UserAgentCheck userAgents, PolicyMonitor policies, AgentOutputKeys agentKeys,
                          ActionMonitor actions, ActionSecrets secrets, CheckinBulker bulker, CheckinRegistry registry,
                          CheckinSettings settings, Clock clock, Scheduler scheduler) {
        this.repo = repo;
        this.userAgents = userAgents;
        this.policies = policies;
        this.agentKeys = agentKeys;
        this.actions = actions;
        this.secrets = secrets;
        this.bulker = bulker;
        this.registry = registry;
        this.settings = settings;
        this.clock = clock;
        this.scheduler = scheduler;
    }

    /** Starts the periodic heartbeat of parked agents and the periodic flush of checkin writes. */
    public void start() {
        heartbeatTask = scheduler.scheduleEvery(this::heartbeatParked, settings.heartbeat());
        flushTask = scheduler.scheduleEvery(bulker::flush, settings.flushInterval());
    }

    /**
     * Answers every parked checkin with nothing new (their own ack token) and flushes pending writes; for shutdown.
     */
    public CompletableFuture<Void> stop() {
        stopping = true;
        if (heartbeatTask != null) {
            heartbeatTask.cancel();
            flushTask.cancel();
        }
        registry.forEach(ParkedCheckin::expire);
        return bulker.flush();
    }

    public CheckinRegistry registry() {
        return registry;
    }

    /** Writes the coalesced checkin updates now instead of at the next interval. */
    public CompletableFuture<Void> flushPending() {
        return bulker.flush();
    }

    /**
     * Runs one checkin of an authenticated agent. Validation errors (User-Agent, body) are thrown; everything later
     * goes to {@code sink}.
     *
     * @param body       the decoded JSON body; null or missing for an empty one
     * @param startNanos {@link System#nanoTime()} when the request arrived, so that setup time shortens the poll
     */
    public void checkin(Agent agent, String userAgent, JsonNode body, long startNanos, CheckinSink sink) {
        String version = userAgents.check(userAgent);
        CheckinRequest req = CheckinRequest.parse(body);
        Duration poll = basePoll(req.pollTimeout());

        ObjectNode fields = Json.object();
        fields.put("last_checkin_status", req.status());
        fields.put("last_checkin_message", req.message());
        if (!version.equals(agent.agentVersion())) {
            fields.putObject("agent").put("version", version);
        }
        if (req.localMetadata() != null && !req.localMetadata().isNull() && !req.localMetadata().equals(agent.localMetadata())) {
            fields.set("local_metadata", req.localMetadata());
        }
        if (req.components() != null && !req.components().isNull() && !req.components().equals(agent.components())) {
            fields.set("components", req.components());
            List<String> reasons = unhealthyReasons(req.components());
            if (reasons.isEmpty()) {
                fields.putNull("unhealthy_reason");
            } else {
                ArrayNode arr = fields.putArray("unhealthy_reason");
                reasons.forEach(arr::add);
            }
        }
        if (req.rollbacks() != null && !req.rollbacks().equals(agent.source().path("upgrade").get("rollbacks"))) {
            fields.putObject("upgrade").set("rollbacks", req.rollbacks());
        }

        String policyId = agent.policyId() == null ? "" : agent.policyId();
        long revision = agent.policyRevisionIdx();
        boolean reportsPolicy = req.agentPolicyId() != null && !req.agentPolicyId().isEmpty();
        if (reportsPolicy) {
            if (!req.agentPolicyId().equals(agent.agentPolicyId()) || req.policyRevisionIdx() != agent.policyRevisionIdx()) {
                fields.put("agent_policy_id", req.agentPolicyId());
                fields.put("policy_revision_idx", req.policyRevisionIdx());
            }
            revision = req.agentPolicyId().equals(policyId) ? req.policyRevisionIdx() : 0;
        }
        if (AgentOutputKeys.missesAKey(agent)) {
            // An output entry without its key: resend the policy so the key is made (the original's rule).
            revision = 0;
        }
        long reported = revision;
        // The agent is evidently still here: its write removes the audit marks this checkin saw.
        ObjectNode auditSeen = CheckinBulker.auditMarks(agent);
        // Running a newer revision of its policy than acked: the keys that revision replaced are no longer used.
        boolean runsNewer = reportsPolicy && req.agentPolicyId().equals(policyId) && req.policyRevisionIdx() > agent.policyRevisionIdx();

        upgradeDetails(agent, req.upgradeDetails())
                .thenCompose(v -> runsNewer ? agentKeys.retireReported(agent, req.policyRevisionIdx()) : CompletableFuture.<Void>completedFuture(null))
                .thenCompose(v -> resolveAckToken(agent, req.ackToken()))
                .thenCompose(seq -> {
                    if (seq != agent.actionSeqNo()) {
                        fields.set("action_seq_no", Json.array().add(seq));
                    }
                    return record(agent, fields, auditSeen).thenCompose(v -> policies.latestOrLoad(policyId)).thenApply(latest -> new long[] {seq,
                            // An agent claiming a revision that does not exist yet is sent the latest one.
                            latest.isPresent() && reported > latest.get().revision() ? 0 : reported});
                })
                .thenAccept(state -> park(agent, req, state[0], state[1], policyId, wait(poll, startNanos), sink))
                .exceptionally(t -> {
                    sink.fail(t);
                    return null;
                });
    }

    /**
     * Queues what the agent reported for the next flush; an agent that never checked in before has it written
     * before its checkin goes on, so that it shows as online at once rather than as enrolling until the flush. Audit
     * marks the agent's document has ({@code auditSeen}) go with that write.
     */
    private CompletableFuture<Void> record(Agent agent, ObjectNode fields, ObjectNode auditSeen) {
        if (!agent.source().hasNonNull("last_checkin")) {
            return bulker.checkinNow(agent.id(), fields, auditSeen);
        }
        bulker.checkin(agent.id(), fields, auditSeen);
        return CompletableFuture.completedFuture(null);
    }

    private void park(Agent agent, CheckinRequest req, long seq, long revision, String policyId, Duration wait, CheckinSink sink) {
        // Held for minutes by tens of thousands of checkins, mostly equal across agents: one copy each.
        ParkedCheckin parked = new ParkedCheckin(agent.id(), strings.share(policyId), revision, seq,
                strings.share(req.status()), strings.share(req.message()), HeldOutputKeys.of(agent, strings::share),
                sink, registry);
        sink.park(parked, wait);
        parked.startLookup();
        registry.register(parked);
        if (stopping) {
            // Arrived while the server stops: stop() may already have swept the registry, so answer it ourselves.
            parked.expire();
            return;
        }
        lookUp(agent, parked, seq, policyId);
    }

    /**
     * Registered: from here on a new action or revision reaches it, so these lookups cannot miss one. Actions up to
     * the action monitor's checkpoint are read here; newer ones come by live dispatch, which waits for this lookup (and
     * makes it look again if it came meanwhile).
     */
    private void lookUp(Agent agent, ParkedCheckin parked, long seq, String policyId) {
        long upTo = actions.checkpoint();
        repo.pendingActions(agent.id(), seq, upTo, clock.instant(), MAX_ACTIONS)
                .thenCompose(found -> {
                    List<Action> deliverable = found.stream().filter(Action::deliverable).toList();
                    if (!deliverable.isEmpty()) {
                        return secrets.resolve(deliverable)
                                .thenAccept(resolved -> parked.complete(ActionMonitor.response(agent.id(), resolved)));
                    }
                    if (!found.isEmpty()) {
                        // Only undeliverable types: move the agent past them so they are not read again.
                        parked.complete(CheckinResponse.empty(found.get(found.size() - 1).docId()));
                        return CompletableFuture.completedFuture(null);
                    }
                    if (parked.finishLookup()) {
                        lookUp(agent, parked, seq, policyId);
                        return CompletableFuture.completedFuture(null);
                    }
                    return policies.latestOrLoad(policyId).thenCompose(latest -> offerPolicy(parked, agent, latest));
                })
                .exceptionally(t -> {
                    parked.fail(t);
                    return null;
                });
    }

    /**
     * Records the upgrade progress the agent reports (the original writes it at once, not through the bulker), after
     * checking it names a known UPGRADE action and its metadata is complete; details of an unknown action are
     * ignored. No details while the document has some means the upgrade finished.
     */
    private CompletableFuture<Void> upgradeDetails(Agent agent, JsonNode details) {
        boolean stored = agent.source().hasNonNull("upgrade_details");
        String now = dev.fleetserver.core.util.Times.millis(clock.instant());
        if (details == null || details.isNull()) {
            if (!stored) {
                return CompletableFuture.completedFuture(null);
            }
            ObjectNode done = Json.object();
            done.putNull("upgrade_details");
            done.putNull("upgrade_started_at");
            done.put("upgraded_at", now);
            done.put("updated_at", now);
            return repo.updateAgent(agent.id(), done).thenApply(x -> null);
        }
        if (!details.isObject()) {
            throw FleetException.badRequest("unable to decode checkin request: upgrade_details must be an object");
        }
        String actionId = details.path("action_id").asText("");
        return repo.actionByActionId(actionId).thenCompose(action -> {
            if (action.isEmpty() || !"UPGRADE".equals(action.get().type())) {
                return CompletableFuture.completedFuture(null);
            }
            ObjectNode partial = Json.object();
            partial.set("upgrade_details", validUpgradeDetails(details));
            if ("UPG_WATCHING".equals(details.path("state").asText()) && agent.source().hasNonNull("upgrade_attempts")) {
                partial.putNull("upgrade_attempts");
            }
            partial.put("updated_at", now);
            return repo.updateAgent(agent.id(), partial).thenApply(x -> null);
        });
    }

    /** The original's checks on upgrade metadata; a violation is its 500 "failed to update upgrade_details". */
    static JsonNode validUpgradeDetails(JsonNode details) {
        String state = details.path("state").asText("");
        JsonNode meta = details.path("metadata");
        switch (state) {
            case "UPG_FAILED" -> {
                if (meta.path("error_msg").asText("").isEmpty()) {
                    throw invalidUpgrade("UPG_FAILED requires metadata.error_msg");
                }
                ObjectNode copy = details.deepCopy();
                ObjectNode m = copy.putObject("metadata");
                if (meta.has("failed_state")) {
                    m.set("failed_state", meta.get("failed_state"));
                }
                m.set("error_msg", meta.get("error_msg"));
                return copy;
            }
            case "UPG_SCHEDULED" -> {
                if (dev.fleetserver.core.util.Times.parse(meta.path("scheduled_at").asText(null)) == null) {
                    throw invalidUpgrade("UPG_SCHEDULED requires metadata.scheduled_at");
                }
            }
            case "UPG_DOWNLOADING" -> {
                JsonNode pct = meta.get("download_percent");
                if (pct != null && !pct.isNull() && !pct.isNumber()) {
                    throw invalidUpgrade("download_percent must be a number");
                }
            }
            default -> {
            }
        }
        return details;
    }

    private static FleetException invalidUpgrade(String why) {
        return new FleetException(dev.fleetserver.core.error.FleetError.INTERNAL,
                "failed to update upgrade_details: invalid upgrade metadata: " + why);
    }

    /** Answers with the latest revision when the agent's is older, its output keys made first where needed. */
    private CompletableFuture<Void> offerPolicy(ParkedCheckin parked, Agent agent, Optional<PreparedPolicy> latest) {
        if (latest.isEmpty() || latest.get().revision() <= parked.revision()) {
            return CompletableFuture.completedFuture(null);
        }
        return agentKeys.responseFor(latest.get(), agent).thenAccept(parked::complete);
    }

    private CompletableFuture<Long> resolveAckToken(Agent agent, String ackToken) {
        if (ackToken == null || ackToken.isEmpty()) {
            return CompletableFuture.completedFuture(agent.actionSeqNo());
        }
        return repo.actionSeqNo(ackToken).thenApply(seq -> seq.orElse(agent.actionSeqNo()));
    }

    /** The poll before setup time and jitter: the original's rules for {@code poll_timeout}. */
    Duration basePoll(Duration pollTimeout) {
        if (pollTimeout == null || pollTimeout.isZero()) {
            return settings.longPoll();
        }
        Duration p = pollTimeout.minus(POLL_MARGIN);
        if (p.compareTo(settings.maxPoll()) > 0) {
            p = settings.maxPoll();
        }
        return p.compareTo(MIN_POLL) < 0 ? MIN_POLL : p;
    }

    /** Setup time already spent comes off the poll, then a random jitter spreads the agents' reconnects. */
    private Duration wait(Duration poll, long startNanos) {
        Duration setup = Duration.ofNanos(System.nanoTime() - startNanos);
        if (setup.compareTo(poll) >= 0) {
            return Duration.ofMillis(1);
        }
        Duration left = poll.minus(setup);
        if (!settings.jitter().isZero()) {
            Duration j = Duration.ofNanos(ThreadLocalRandom.current().nextLong(settings.jitter().toNanos()));
            if (j.compareTo(left) < 0) {
                left = left.minus(j);
            }
        }
        return left;
    }

    private void heartbeatParked() {
        registry.forEach(p -> bulker.heartbeat(p.agentId(), p.status(), p.message()));
    }

    /** {@code input}/{@code output} for unhealthy units of that type in unhealthy components, else {@code other}. */
    static List<String> unhealthyReasons(JsonNode components) {
        boolean input = false;
        boolean output = false;
        boolean any = false;
        if (components.isArray()) {
            for (JsonNode c : components) {
                if (!unhealthy(c.path("status").asText(""))) {
                    continue;
                }
                any = true;
                for (JsonNode u : c.path("units")) {
                    if (unhealthy(u.path("status").asText(""))) {
                        String type = u.path("type").asText("");
                        input |= type.equals("input");
                        output |= type.equals("output");
                    }
                }
            }
        }
        if (input || output) {
            return input && output ? List.of("input", "output") : List.of(input ? "input" : "output");
        }
        return any ? List.of("other") : List.of();
    }

    private static boolean unhealthy(String status) {
        String s = status.toUpperCase(Locale.ROOT);
        return s.equals("FAILED") || s.equals("DEGRADED");
    }

    /** The fields of a checkin body this server reads. */
    record CheckinRequest(String status, String message, String ackToken, JsonNode localMetadata, JsonNode components,
                          Duration pollTimeout, String agentPolicyId, long policyRevisionIdx, JsonNode rollbacks,
                          JsonNode upgradeDetails) {

        static CheckinRequest parse(JsonNode root) {
            if (root == null || root.isMissingNode()) {
                throw FleetException.badRequest("unable to decode checkin request: EOF");
            }
            if (!root.isObject()) {
                throw FleetException.badRequest("unable to decode checkin request: expected a JSON object");
            }
            String status = text(root, "status");
            if (status == null || status.isEmpty()) {
                throw FleetException.badRequest("checkin status missing");
            }
            Duration pollTimeout = null;
            String pt = text(root, "poll_timeout");
            if (pt != null && !pt.isEmpty()) {
                try {
                    pollTimeout = GoDuration.parse(pt);
                } catch (IllegalArgumentException e) {
                    throw FleetException.badRequest("poll_timeout cannot be parsed as duration: " + e.getMessage());
                }
            }
            JsonNode rev = root.get("policy_revision_idx");
            if (rev != null && !rev.isNull() && !rev.canConvertToLong()) {
                throw FleetException.badRequest("unable to decode checkin request: policy_revision_idx must be an integer");
            }
            JsonNode upgrade = root.get("upgrade");
            JsonNode rollbacks = null;
            if (upgrade != null && upgrade.isObject()) {
                JsonNode r = upgrade.get("rollbacks");
                rollbacks = r != null && r.isArray() ? r : Json.array();
            }
            String message = text(root, "message");
            // The token is looked up as an action document id.
            String ackToken = DocumentIds.require("ack_token", text(root, "ack_token"));
            return new CheckinRequest(status, message == null ? "" : message, ackToken,
                    shaped(root, "local_metadata", JsonNode::isObject, "an object"),
                    shaped(root, "components", JsonNode::isArray, "an array"), pollTimeout, text(root, "agent_policy_id"),
                    rev == null || rev.isNull() ? 0 : rev.asLong(), rollbacks, root.get("upgrade_details"));
        }

        /** The value at {@code field} when absent, JSON null (what the agent sends for "none") or of the right kind. */
        private static JsonNode shaped(JsonNode root, String field, java.util.function.Predicate<JsonNode> kind, String what) {
            JsonNode n = root.get(field);
            if (n != null && !n.isNull() && !kind.test(n)) {
                throw FleetException.badRequest("unable to decode checkin request: " + field + " must be " + what);
            }
            return n;
        }

        private static String text(JsonNode root, String field) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return null;
            }
            if (!n.isTextual()) {
                throw FleetException.badRequest("unable to decode checkin request: " + field + " must be a string");
            }
            return n.textValue();
        }
    }
}
