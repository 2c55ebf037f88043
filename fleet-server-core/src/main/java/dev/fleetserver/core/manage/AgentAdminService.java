package dev.fleetserver.core.manage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.agent.AgentKeyRevoker;
import dev.fleetserver.core.agent.AgentStatus;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Agents through the management API, in Kibana's shapes: reading them (with the status Kibana shows) and acting on
 * them. Actions are written to {@code .fleet-actions} exactly as Kibana writes them (so the same delivery path serves
 * both), agent changes go to {@code .fleet-agents}. Validation happens before anything is written, so a bad request
 * leaves nothing half-done.
 */
public final class AgentAdminService {
    /** Action types the generic {@code .../actions} endpoint accepts (those agents are ever sent). */
    static final Set<String> GENERIC_TYPES = Action.DELIVERABLE_TYPES;
    /** How long an action we create stays deliverable (Kibana gives upgrades and others an expiration too). */
    static final Duration ACTION_LIFETIME = Duration.ofDays(30);
    /** Kibana writes at most this many agents into one action document. */
    static final int AGENTS_PER_DOC = 1000;

    private final FleetRepository repo;
    private final AgentKeyRevoker keyRevoker;
    private final Clock clock;

    public AgentAdminService(FleetRepository repo, AgentKeyRevoker keyRevoker, Clock clock) {
        this.repo = repo;
        this.keyRevoker = keyRevoker;
        this.clock = clock;
    }

    // --- reading agents ---

    /** A page of agents, newest enrollment first, as Kibana lists them. */
    public CompletableFuture<ObjectNode> listAgents(int page, int perPage) {
        return listAgents(page, perPage, null, false);
    }

    /**
     * A page of agents, newest enrollment first, filtered by {@code kuery} (see {@link Kuery}); inactive agents only
     * with {@code showInactive}, as in Kibana.
     */
    public CompletableFuture<ObjectNode> listAgents(int page, int perPage, String kuery, boolean showInactive) {
        if (page < 1 || perPage < 1 || perPage > 10_000) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "page must be >= 1 and perPage between 1 and 10000");
        }
        Kuery filter = Kuery.parse(kuery);
        java.util.function.UnaryOperator<Query> terms = q -> showInactive ? filter.apply(q) : filter.apply(q).term("active", true);
        Instant now = clock.instant();
        long from = (long) (page - 1) * perPage;
        if (!filter.computed() && from + perPage <= LIST_WINDOW) {
            // The store can filter on every clause: it counts them and reads this page alone.
            Query one = terms.apply(Query.where().sortDesc("enrolled_at").from((int) from).size(perPage));
            return repo.countAgents(terms.apply(Query.where())).thenCombine(repo.agents(one),
                    (total, agents) -> Pages.of(agents, total, page, perPage, a -> agentItem(a, now)));
        }
        // A computed clause, or a page past one search window: read every agent and cut the page here.
        return repo.everyAgent(terms).thenApply(all -> {
            List<Agent> matching = all.stream().filter(a -> filter.matchesComputed(a, now))
                    .sorted(java.util.Comparator.comparing((Agent a) -> Json.text(a.source(), "enrolled_at"),
                            java.util.Comparator.nullsLast(java.util.Comparator.reverseOrder())))
                    .toList();
            return Pages.page(matching, page, perPage, a -> agentItem(a, now));
        });
    }

    /** The agents one search may return: a page past them reads every agent. */
    static final int LIST_WINDOW = 10_000;

    public CompletableFuture<ObjectNode> getAgent(String id) {
        return repo.agent(id).thenApply(found -> {
            Agent a = found.orElseThrow(() -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Agent " + id + " not found"));
            ObjectNode out = Json.object();
            out.set("item", agentItem(a, clock.instant()));
            return out;
        });
    }

    /** The agent document without secrets, plus {@code id}, {@code status} and {@code policy_revision} as Kibana adds. */
    static ObjectNode agentItem(Agent a, Instant now) {
        ObjectNode item = Json.object();
        item.put("id", a.id());
        item.setAll(a.source().deepCopy());
        item.remove("replace_token");
        JsonNode outputs = item.get("outputs");
        if (outputs instanceof ObjectNode o) {
            o.elements().forEachRemaining(out -> {
                if (out instanceof ObjectNode oo) {
                    oo.remove("api_key");
                }
            });
        }
        item.put("status", AgentStatus.of(a, now));
        if (a.source().has("policy_revision_idx")) {
            item.put("policy_revision", a.policyRevisionIdx());
        }
        return item;
    }

    // --- single agent ---

    /** {@code revoke:true} unenrolls at once (keys invalidated, next request 401); otherwise the agent is sent UNENROLL. */
    public CompletableFuture<ObjectNode> unenroll(String agentId, JsonNode body) {
        boolean revoke = Bodies.bool(body, "revoke");
        return agent(agentId).thenCompose(a -> unlessManaged(a, Bodies.bool(body, "force"),
                "Cannot unenroll " + agentId + " from a managed agent policy " + a.policyId()))
                .thenCompose(a -> unenroll(List.of(a), revoke));
    }

    public CompletableFuture<ObjectNode> upgrade(String agentId, JsonNode body) {
        UpgradeRequest req = UpgradeRequest.parse(body);
        return agent(agentId).thenCompose(a -> unlessManaged(a, Bodies.bool(body, "force"),
                "Cannot upgrade agent " + agentId + " in managed agent policy " + a.policyId()))
                .thenCompose(a -> upgrade(List.of(a), req));
    }

    public CompletableFuture<ObjectNode> reassign(String agentId, JsonNode body) {
        String policyId = Bodies.requiredText(body, "policy_id");
        return agent(agentId).thenCompose(a -> unlessManaged(a, false,
                "Cannot reassign an agent from managed agent policy " + a.policyId()))
                .thenCompose(a -> reassign(List.of(a), policyId));
    }

    /**
     * The agent, unless its policy is managed ({@code is_managed}, as the Fleet Server policy the server creates) and
     * the caller did not force the change: then 400 with {@code message}, as Kibana answers for hosted policies.
     */
    private CompletableFuture<Agent> unlessManaged(Agent agent, boolean force, String message) {
        if (force || agent.policyId() == null) {
            return CompletableFuture.completedFuture(agent);
        }
        return repo.latestPolicy(agent.policyId()).thenApply(p -> {
            if (p.isPresent() && p.get().doc().source().path("is_managed").asBoolean(false)) {
                throw Bodies.bad(message);
            }
            return agent;
        });
    }

    /** {@code {"action":{"type":...,"data":...}}}: any type agents understand. */
    public CompletableFuture<ObjectNode> action(String agentId, JsonNode body) {
        JsonNode action = Bodies.object(body).get("action");
        if (action == null || !action.isObject()) {
            throw Bodies.bad("[request body.action]: expected an object");
        }
        String type = Bodies.requiredText(action, "type");
        if (!GENERIC_TYPES.contains(type)) {
            throw Bodies.bad("[request body.action.type]: must be one of " + new TreeSet<>(GENERIC_TYPES));
        }
        JsonNode data = action.get("data");
        return agent(agentId).thenCompose(a -> writeAction(type, List.of(a.id()), data, Json.object()))
                .thenApply(written -> {
                    ObjectNode item = Json.object();
                    item.put("id", written.actionId);
                    item.put("type", type);
                    item.set("data", data);
                    item.putArray("agents").add(agentId);
                    item.put("created_at", written.createdAt);
                    ObjectNode out = Json.object();
                    out.set("item", item);
                    return out;
                });
    }

    public CompletableFuture<ObjectNode> requestDiagnostics(String agentId, JsonNode body) {
        ObjectNode data = Json.object();
        JsonNode metrics = body == null ? null : body.get("additional_metrics");
        if (metrics != null && !metrics.isNull()) {
            if (!metrics.isArray()) {
                throw Bodies.bad("[request body.additional_metrics]: expected an array");
            }
            data.set("additional_metrics", metrics);
        }
        return agent(agentId).thenCompose(a -> writeAction("REQUEST_DIAGNOSTICS", List.of(a.id()), data, Json.object()))
                .thenApply(w -> actionId(w.actionId));
    }

    /** {@code PUT /api/fleet/agents/{id}}: tags (de-duplicated, sorted). */
    public CompletableFuture<ObjectNode> update(String agentId, JsonNode body) {
        ObjectNode b = Bodies.object(body);
        b.fieldNames().forEachRemaining(k -> {
            if (!k.equals("tags")) {
                throw Bodies.bad("[request body." + k + "]: definition for this key is missing");
            }
        });
        JsonNode tags = b.get("tags");
        if (tags == null || !tags.isArray()) {
            throw Bodies.bad("[request body.tags]: expected an array of strings");
        }
        TreeSet<String> sorted = new TreeSet<>();
        tags.forEach(t -> {
            if (!t.isTextual()) {
                throw Bodies.bad("[request body.tags]: expected an array of strings");
            }
            sorted.add(t.textValue());
        });
        return agent(agentId).thenCompose(a -> {
            ObjectNode partial = Json.object();
            sorted.forEach(partial.putArray("tags")::add);
            partial.put("updated_at", Times.millis(clock.instant()));
            return repo.updateAgent(a.id(), partial);
        }).thenCompose(seq -> repo.agent(agentId)).thenApply(a -> {
            ObjectNode out = Json.object();
            out.set("item", agentItem(a.orElseThrow(), clock.instant()));
            return out;
        });
    }

    // --- bulk ---

    /** {@code {"agents": [ids] | "<kuery>", "revoke"?}}. */
    public CompletableFuture<ObjectNode> bulkUnenroll(JsonNode body) {
        boolean revoke = Bodies.bool(body, "revoke");
        return select(body).thenCompose(agents -> unmanaged(agents, Bodies.bool(body, "force")))
                .thenCompose(agents -> unenroll(agents, revoke));
    }

    public CompletableFuture<ObjectNode> bulkUpgrade(JsonNode body) {
        UpgradeRequest req = UpgradeRequest.parse(body);
        return select(body).thenCompose(agents -> unmanaged(agents, Bodies.bool(body, "force")))
                .thenCompose(agents -> upgrade(agents, req));
    }

    public CompletableFuture<ObjectNode> bulkReassign(JsonNode body) {
        String policyId = Bodies.requiredText(body, "policy_id");
        return select(body).thenCompose(agents -> unmanaged(agents, false)).thenCompose(agents -> reassign(agents, policyId));
    }

    /** The agents whose policy is not managed, as Kibana's bulk actions skip hosted agents; all of them when forced. */
    private CompletableFuture<List<Agent>> unmanaged(List<Agent> agents, boolean force) {
        if (force || agents.isEmpty()) {
            return CompletableFuture.completedFuture(agents);
        }
        return repo.latestPolicies().thenApply(policies -> agents.stream().filter(a -> {
            var p = a.policyId() == null ? null : policies.get(a.policyId());
            return p == null || !p.doc().source().path("is_managed").asBoolean(false);
        }).toList());
    }

    // --- the operations ---

    private CompletableFuture<ObjectNode> unenroll(List<Agent> agents, boolean revoke) {
        if (revoke) {
            CompletableFuture<?>[] all = agents.stream().map(keyRevoker::unenroll).toArray(CompletableFuture[]::new);
            return CompletableFuture.allOf(all).thenApply(v -> Json.object());
        }
        String now = Times.millis(clock.instant());
        return writeAction("UNENROLL", ids(agents), null, Json.object())
                .thenCompose(w -> repo.updateAgents(ids(agents), Json.object().put("unenrollment_started_at", now).put("updated_at", now))
                        .thenApply(r -> actionId(w.actionId)));
    }

    private CompletableFuture<ObjectNode> upgrade(List<Agent> agents, UpgradeRequest req) {
        ObjectNode data = Json.object().put("version", req.version);
        if (req.sourceUri != null) {
            data.put("source_uri", req.sourceUri);
        }
        ObjectNode extra = Json.object();
        if (req.startTime != null) {
            extra.put("start_time", req.startTime);
        }
        if (req.rollout > 0) {
            extra.put("rollout_duration_seconds", req.rollout);
            if (req.startTime == null) {
                extra.put("start_time", Times.seconds(clock.instant()));
            }
        }
        String now = Times.millis(clock.instant());
        return writeAction("UPGRADE", ids(agents), data, extra)
                .thenCompose(w -> repo.updateAgents(ids(agents), Json.object().put("upgrade_started_at", now).put("updated_at", now))
                        .thenApply(r -> actionId(w.actionId)));
    }

    /** Moves agents to another policy; they are sent POLICY_REASSIGN and get the new policy on their next checkin. */
    private CompletableFuture<ObjectNode> reassign(List<Agent> agents, String policyId) {
        return repo.latestPolicy(policyId).thenCompose(p -> {
            if (p.isEmpty()) {
                throw new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Agent policy " + policyId + " not found");
            }
            String now = Times.millis(clock.instant());
            Map<String, ObjectNode> moves = new LinkedHashMap<>();
            for (Agent a : agents) {
                ObjectNode partial = Json.object();
                partial.put("policy_id", policyId);
                partial.put("policy_base_id", dev.fleetserver.core.enroll.EnrollService.policyBaseId(policyId));
                if (!policyId.equals(a.policyId())) {
                    // A new policy starts from no revision; one that stays keeps the revision it runs (never back).
                    partial.put("policy_revision_idx", 0);
                }
                partial.put("updated_at", now);
                moves.put(a.id(), partial);
            }
            return repo.updateAgents(moves)
                    .thenCompose(r -> writeAction("POLICY_REASSIGN", ids(agents), Json.object().put("policy_id", policyId), Json.object()))
                    .thenApply(w -> actionId(w.actionId));
        });
    }

    private record Written(String actionId, String createdAt) {
    }

    /** Writes one action for these agents, split into documents of at most {@link #AGENTS_PER_DOC} agents like Kibana. */
    private CompletableFuture<Written> writeAction(String type, List<String> agentIds, JsonNode data, ObjectNode extra) {
        if (agentIds.isEmpty()) {
            throw Bodies.bad("no agents selected");
        }
        String actionId = UUID.randomUUID().toString();
        Instant now = clock.instant();
        String created = Times.millis(now);
        List<ObjectNode> docs = new ArrayList<>();
        for (int i = 0; i < agentIds.size(); i += AGENTS_PER_DOC) {
            docs.add(Action.newSource(actionId, type, now, now.plus(ACTION_LIFETIME),
                    agentIds.subList(i, Math.min(agentIds.size(), i + AGENTS_PER_DOC)), data, extra));
        }
        return repo.createActions(docs).thenApply(v -> new Written(actionId, created));
    }

    // --- status ---

    /** {@code GET /api/fleet/agent_status?policyId=}: counts by Kibana's agent statuses. */
    public CompletableFuture<ObjectNode> agentStatus(String policyId) {
        boolean onePolicy = policyId != null && !policyId.isEmpty();
        return repo.everyAgent(q -> onePolicy ? q.term("policy_id", policyId) : q).thenApply(agents -> {
            Map<String, Integer> counts = new LinkedHashMap<>();
            for (String s : List.of("online", "error", "offline", "uninstalled", "orphaned", "updating", "inactive", "unenrolled",
                    "enrolling")) {
                counts.put(s, 0);
            }
            Instant now = clock.instant();
            int total = 0;
            for (Agent a : agents) {
                String s = AgentStatus.of(a, now);
                // Kibana's summary folds degraded into error and unenrolling into updating.
                String bucket = s.equals("degraded") ? "error" : s.equals("unenrolling") ? "updating" : s;
                counts.merge(bucket, 1, Integer::sum);
                if (a.active()) {
                    total++;
                }
            }
            ObjectNode results = Json.object();
            results.put("total", total);
            counts.forEach(results::put);
            results.put("other", counts.get("enrolling"));
            results.remove("enrolling");
            results.put("events", 0);
            ObjectNode out = Json.object();
            out.set("results", results);
            return out;
        });
    }

    /** Every status {@link AgentStatus#of} gives, in the order the summary lists them. */
    static final List<String> STATUSES = List.of("online", "degraded", "error", "updating", "offline", "enrolling",
            "unenrolling", "unenrolled", "uninstalled", "orphaned", "inactive");
    /**
     * How long one summary answers every caller: it reads every agent, and each console open on the overview asks for
     * it every few seconds.
     */
    static final Duration SUMMARY_MAX_AGE = Duration.ofSeconds(2);
    private final java.util.concurrent.atomic.AtomicReference<Memo> summary = new java.util.concurrent.atomic.AtomicReference<>();
    /** The actions an agent's page lists. */
    static final int AGENT_ACTIONS_LISTED = 50;

    /**
     * {@code GET /api/fleet/agents/summary}: the fleet at a glance — every agent by its status (each status apart,
     * none folded), and the active ones by policy (with how many run an older revision than the latest) and by agent
     * version, largest first. Callers within {@link #SUMMARY_MAX_AGE} of each other share one reading.
     */
    public CompletableFuture<ObjectNode> summary() {
        Instant now = clock.instant();
        Memo last = summary.get();
        // A reading under way is shared however long it takes: a slow fleet is exactly where sharing matters.
        boolean fresh = last != null && !now.isBefore(last.at()) && last.at().plus(SUMMARY_MAX_AGE).isAfter(now);
        if (last == null || last.value().isCompletedExceptionally() || (last.value().isDone() && !fresh)) {
            last = new Memo(now, computeSummary());
            summary.set(last);
        }
        return last.value().thenApply(ObjectNode::deepCopy);
    }

    /** A summary and when it was asked for. */
    private record Memo(Instant at, CompletableFuture<ObjectNode> value) {
    }

    private CompletableFuture<ObjectNode> computeSummary() {
        // The latest revisions of the agents' policies only: reading every revision of every policy (hundreds of
        // KiB each) would cost more than the agents.
        return repo.everyAgent(q -> q).thenCompose(agents -> repo.latestPolicies(agents.stream().filter(Agent::active)
                        .map(Agent::policyId).filter(java.util.Objects::nonNull).collect(java.util.stream.Collectors.toSet()))
                .thenApply(policies -> summarize(agents, policies)));
    }

    private ObjectNode summarize(List<Agent> agents, Map<String, PolicyRevision> policies) {
        Instant now = clock.instant();
        Map<String, Integer> byStatus = new LinkedHashMap<>();
        STATUSES.forEach(st -> byStatus.put(st, 0));
        Map<String, int[]> byPolicy = new LinkedHashMap<>();
        Map<String, Integer> byVersion = new LinkedHashMap<>();
        int active = 0;
        for (Agent a : agents) {
            byStatus.merge(AgentStatus.of(a, now), 1, Integer::sum);
            if (!a.active()) {
                continue;
            }
            active++;
            String policyId = a.policyId() == null ? "" : a.policyId();
            int[] counts = byPolicy.computeIfAbsent(policyId, k -> new int[2]);
            counts[0]++;
            var latest = policies.get(policyId);
            if (latest != null && a.policyRevisionIdx() < latest.revisionIdx()) {
                counts[1]++;
            }
            byVersion.merge(a.agentVersion() == null ? "" : a.agentVersion(), 1, Integer::sum);
        }
        ObjectNode out = Json.object();
        out.put("total", agents.size());
        out.put("active", active);
        ObjectNode statuses = out.putObject("by_status");
        byStatus.forEach(statuses::put);
        ArrayNode perPolicy = out.putArray("by_policy");
        byPolicy.entrySet().stream().sorted((x, y) -> Integer.compare(y.getValue()[0], x.getValue()[0])).forEach(e -> {
            ObjectNode p = perPolicy.addObject();
            var latest = policies.get(e.getKey());
            p.put("policy_id", e.getKey());
            p.put("name", latest != null && latest.name() != null ? latest.name() : e.getKey());
            p.put("revision", latest != null ? latest.revisionIdx() : 0);
            p.put("agents", e.getValue()[0]);
            p.put("outdated", e.getValue()[1]);
        });
        ArrayNode perVersion = out.putArray("by_version");
        byVersion.entrySet().stream().sorted((x, y) -> Integer.compare(y.getValue(), x.getValue()))
                .forEach(e -> perVersion.addObject().put("version", e.getKey()).put("agents", e.getValue()));
        return out;
    }

    /**
     * {@code GET /api/fleet/agents/{id}/actions}: the actions addressed to the agent, newest first (at most 50), each
     * with the agent's own result: {@code status} ACKED, FAILED (with {@code error}), EXPIRED or PENDING.
     */
    public CompletableFuture<ObjectNode> agentActions(String agentId) {
        return agent(agentId).thenCompose(a -> repo.actionsAddressedTo(agentId, AGENT_ACTIONS_LISTED)).thenCompose(actions -> {
            List<String> ids = actions.stream().map(Action::actionId).filter(java.util.Objects::nonNull).distinct().toList();
            CompletableFuture<List<ObjectNode>> results = ids.isEmpty()
                    ? CompletableFuture.completedFuture(List.of()) : repo.actionResultsOf(agentId, ids);
            return results.thenApply(found -> {
                Map<String, ObjectNode> resultOf = new LinkedHashMap<>();
                found.forEach(r -> resultOf.put(Json.text(r, "action_id"), r));
                Instant now = clock.instant();
                ObjectNode out = Json.object();
                ArrayNode items = out.putArray("items");
                Set<String> seen = new java.util.HashSet<>();
                for (Action action : actions) {
                    if (action.actionId() == null || !seen.add(action.actionId())) {
                        continue;
                    }
                    ObjectNode item = items.addObject();
                    ObjectNode src = action.doc().source();
                    item.put("actionId", action.actionId());
                    item.put("type", action.type());
                    item.put("creationTime", Json.text(src, "@timestamp"));
                    item.put("expiration", Json.text(src, "expiration"));
                    if (src.has("data")) {
                        item.set("data", src.get("data"));
                    }
                    ObjectNode result = resultOf.get(action.actionId());
                    String error = errorOf(result);
                    item.put("status", resultStatus(result, action.expiredAt(now)));
                    if (result != null) {
                        item.put("completedAt", Json.text(result, "@timestamp"));
                        if (error != null) {
                            item.put("error", error);
                        }
                        if (result.has("data")) {
                            item.set("result", result.get("data"));
                        }
                    }
                }
                return out;
            });
        });
    }

    /** The agents an action's results list at most; the counts cover every agent. */
    static final int RESULTS_LISTED = 1_000;

    /**
     * {@code GET /api/fleet/actions/{actionId}/results}: the action's agents, each with its result — ACKED, FAILED
     * (with {@code error}), or PENDING (EXPIRED once the action has) — failures first; counts over all agents, at most
     * 1 000 agents listed. 404 for an unknown action.
     */
    public CompletableFuture<ObjectNode> actionResults(String actionId) {
        return repo.actionParts(actionId).thenCompose(parts -> {
            if (parts.isEmpty()) {
                throw new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Action " + actionId + " not found");
            }
            return repo.everyActionResult(actionId).thenApply(results -> {
                Map<String, ObjectNode> byAgent = new LinkedHashMap<>();
                results.forEach(r -> byAgent.putIfAbsent(Json.text(r, "agent_id"), r));
                boolean expired = parts.get(0).expiredAt(clock.instant());
                List<ObjectNode> failed = new ArrayList<>();
                List<ObjectNode> pending = new ArrayList<>();
                List<ObjectNode> acked = new ArrayList<>();
                Set<String> targeted = new java.util.LinkedHashSet<>();
                parts.forEach(p -> targeted.addAll(p.agents()));
                for (String agentId : targeted) {
                    ObjectNode r = byAgent.get(agentId);
                    String status = resultStatus(r, expired);
                    ObjectNode item = Json.object().put("agent_id", agentId).put("status", status);
                    if (r == null) {
                        pending.add(item);
                    } else if (status.equals("FAILED")) {
                        failed.add(item.put("error", errorOf(r)).put("completed_at", Json.text(r, "@timestamp")));
                    } else {
                        acked.add(item.put("completed_at", Json.text(r, "@timestamp")));
                    }
                }
                ObjectNode out = Json.object();
                out.put("actionId", actionId);
                out.put("type", parts.get(0).type());
                out.put("total", targeted.size());
                out.put("acked", acked.size());
                out.put("failed", failed.size());
                out.put("pending", pending.size());
                ArrayNode items = out.putArray("items");
                java.util.stream.Stream.of(failed, pending, acked).flatMap(List::stream).limit(RESULTS_LISTED).forEach(items::add);
                return out;
            });
        });
    }

    /** An agent's result of an action: ACKED, FAILED (it has an error), else PENDING, or EXPIRED once the action has. */
    private static String resultStatus(ObjectNode result, boolean expired) {
        if (result == null) {
            return expired ? "EXPIRED" : "PENDING";
        }
        return errorOf(result) != null ? "FAILED" : "ACKED";
    }

    /** The error a result reports, or null when it reports none. */
    private static String errorOf(ObjectNode result) {
        String error = result == null ? null : Json.text(result, "error");
        return error == null || error.isEmpty() ? null : error;
    }

    /** {@code GET /api/fleet/agents/action_status}: per action, agents targeted, acked and failed (newest first). */
    public CompletableFuture<ObjectNode> actionStatus(int perPage) {
        return repo.actionsNewestFirst().thenCompose(actions -> {
            Map<String, List<Action>> byAction = new LinkedHashMap<>();
            for (Action d : actions) {
                String id = d.actionId();
                if (id != null && byAction.size() < perPage || byAction.containsKey(id)) {
                    byAction.computeIfAbsent(id, k -> new ArrayList<>()).add(d);
                }
            }
            List<CompletableFuture<ObjectNode>> items = new ArrayList<>();
            byAction.forEach((id, parts) -> items.add(statusOf(id, parts)));
            return CompletableFuture.allOf(items.toArray(CompletableFuture[]::new)).thenApply(v -> {
                ObjectNode out = Json.object();
                ArrayNode arr = out.putArray("items");
                items.forEach(i -> arr.add(i.join()));
                return out;
            });
        });
    }

    private CompletableFuture<ObjectNode> statusOf(String actionId, List<Action> parts) {
        return repo.everyActionResult(actionId).thenApply(results -> {
            int targeted = parts.stream().mapToInt(p -> p.agents().size()).sum();
            long failed = results.stream().filter(r -> errorOf(r) != null).count();
            long acked = results.size() - failed;
            Action first = parts.get(0);
            boolean expired = first.expiredAt(clock.instant());
            String status = acked + failed >= targeted ? (failed > 0 ? "FAILED" : "COMPLETE") : expired ? "EXPIRED" : "IN_PROGRESS";
            ObjectNode item = Json.object();
            item.put("actionId", actionId);
            item.put("type", first.type());
            item.put("status", status);
            item.put("nbAgentsActioned", targeted);
            item.put("nbAgentsActionCreated", targeted);
            item.put("nbAgentsAck", acked);
            item.put("nbAgentsFailed", failed);
            item.put("creationTime", Json.text(first.doc().source(), "@timestamp"));
            item.put("expiration", Json.text(first.doc().source(), "expiration"));
            return item;
        });
    }

    // --- helpers ---

    private CompletableFuture<Agent> agent(String id) {
        return repo.agent(id).thenApply(a -> a.orElseThrow(
                () -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Agent " + id + " not found")));
    }

    /** The agents a bulk request names: {@code agents} as a list of ids (all must exist) or as a kuery string. */
    private CompletableFuture<List<Agent>> select(JsonNode body) {
        JsonNode agents = Bodies.object(body).get("agents");
        if (agents != null && agents.isArray()) {
            List<CompletableFuture<Agent>> found = new ArrayList<>();
            agents.forEach(id -> {
                if (!id.isTextual()) {
                    throw Bodies.bad("[request body.agents]: expected agent ids or a kuery string");
                }
                found.add(agent(id.textValue()));
            });
            return CompletableFuture.allOf(found.toArray(CompletableFuture[]::new))
                    .thenApply(v -> found.stream().map(CompletableFuture::join).toList());
        }
        if (agents != null && agents.isTextual()) {
            Kuery kuery = Kuery.parse(agents.textValue());
            Instant now = clock.instant();
            return selectAll(kuery, now);
        }
        throw Bodies.bad("[request body.agents]: expected agent ids or a kuery string");
    }

    /** Every active agent the kuery matches, however many. */
    private CompletableFuture<List<Agent>> selectAll(Kuery kuery, Instant now) {
        return repo.everyAgent(q -> kuery.apply(q.term("active", true)))
                .thenApply(all -> all.stream().filter(a -> kuery.matchesComputed(a, now)).toList());
    }

    private static List<String> ids(List<Agent> agents) {
        return agents.stream().map(Agent::id).toList();
    }

    private static ObjectNode actionId(String id) {
        return Json.object().put("actionId", id);
    }

    private record UpgradeRequest(String version, String sourceUri, String startTime, long rollout) {
        static UpgradeRequest parse(JsonNode body) {
            String version = Bodies.requiredText(body, "version");
            if (!version.matches("\\d+\\.\\d+\\.\\d+(-[A-Za-z0-9.+]+)?")) {
                throw Bodies.bad("[request body.version]: not a version: " + version);
            }
            JsonNode src = body.get("source_uri");
            if (src != null && !src.isNull() && !src.isTextual()) {
                throw Bodies.bad("[request body.source_uri]: expected a string");
            }
            JsonNode start = body.get("start_time");
            String startTime = null;
            if (start != null && !start.isNull()) {
                Instant t = Times.parse(start.asText(null));
                if (t == null) {
                    throw Bodies.bad("[request body.start_time]: expected an RFC 3339 timestamp");
                }
                startTime = Times.seconds(t);
            }
            JsonNode rollout = body.get("rollout_duration_seconds");
            if (rollout != null && !rollout.isNull() && (!rollout.canConvertToLong() || rollout.asLong() < 0)) {
                throw Bodies.bad("[request body.rollout_duration_seconds]: expected a non-negative integer");
            }
            return new UpgradeRequest(version, src == null || src.isNull() ? null : src.textValue(), startTime,
                    rollout == null || rollout.isNull() ? 0 : rollout.asLong());
        }
    }
}
