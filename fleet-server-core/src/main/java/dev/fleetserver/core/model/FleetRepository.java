package dev.fleetserver.core.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fleetserver.core.store.ChangeFeed;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.Filter;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Scheduler;
import dev.fleetserver.core.util.Times;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The typed layer over {@link DocumentStore}: every read and write of Fleet documents that core makes, with the
 * queries the original uses. Holds no state of its own.
 */
public final class FleetRepository {
    private final DocumentStore store;

    public FleetRepository(DocumentStore store) {
        this.store = store;
    }

    public DocumentStore store() {
        return store;
    }

    // --- agents ---

    public CompletableFuture<Optional<Agent>> agent(String id) {
        return store.get(FleetIndex.AGENTS, id).thenApply(d -> d.map(Agent::new));
    }

    /** As {@link #agent}, through the store's paced read ({@link DocumentStore#getPaced}), for reads made at a fleet's rate. */
    public CompletableFuture<Optional<Agent>> agentPaced(String id) {
        return store.getPaced(FleetIndex.AGENTS, id).thenApply(d -> d.map(Agent::new));
    }

    /** Agents whose {@code access_api_key_id} is {@code keyId} (at most two: more than one is a damaged fleet). */
    public CompletableFuture<List<Agent>> agentsByAccessKeyId(String keyId) {
        Query q = Query.where().term("access_api_key_id", keyId).size(2);
        return store.search(FleetIndex.AGENTS, q).thenApply(ds -> ds.stream().map(Agent::new).toList());
    }

    public CompletableFuture<Long> createAgent(String id, ObjectNode source) {
        return store.create(FleetIndex.AGENTS, id, source);
    }

    /** Unconditional partial update. */
    public CompletableFuture<Long> updateAgent(String id, ObjectNode partial) {
        return store.write(new WriteOp.Update(FleetIndex.AGENTS, id, partial));
    }

    /** Partial update that fails with {@link StoreException.Conflict} if the agent changed since {@code agent} was read. */
    public CompletableFuture<Long> updateAgentIfUnchanged(Agent agent, ObjectNode partial) {
        return store.write(WriteOp.Update.ifUnchanged(agent.doc(), partial));
    }

    /**
     * Replaces the whole document if the agent has not changed since {@code agent} was read (fails with
     * {@link StoreException.Conflict} otherwise): the way to remove fields, which a partial update cannot.
     */
    public CompletableFuture<Long> replaceAgentIfUnchanged(Agent agent, ObjectNode source) {
        return store.write(WriteOp.Put.ifUnchanged(agent.doc(), source));
    }

    public CompletableFuture<Long> deleteAgent(String id) {
        return store.delete(FleetIndex.AGENTS, id);
    }

    public CompletableFuture<List<Agent>> agents(Query query) {
        return store.search(FleetIndex.AGENTS, query).thenApply(ds -> ds.stream().map(Agent::new).toList());
    }

    /** Documents read per page of a walk ({@link #everyAgent}, {@link #everyActionResult}): a search window ends at 10 000. */
    static final int WALK_PAGE = 10_000;
    /** A bound on a walk, should documents keep changing under it: a million documents read. */
    static final int MAX_WALK_PAGES = 100;

    /**
     * Every agent {@code filter} matches (it adds terms to an empty query), however many: see {@link #walk}.
     */
    public CompletableFuture<List<Agent>> everyAgent(UnaryOperator<Query> filter) {
        return walk(FleetIndex.AGENTS, filter).thenApply(docs -> docs.stream().map(Agent::new).toList());
    }

    /**
     * Every document of {@code index} that {@code filter} matches, however many: pages of 10 000 in {@code _seq_no}
     * order. A document written meanwhile moves to a higher sequence number, so it is met again rather than missed;
     * it is listed once, as first met.
     */
    private CompletableFuture<List<Doc>> walk(String index, UnaryOperator<Query> filter) {
        return walk(index, filter, -1, new LinkedHashMap<>(), 0);
    }

    private CompletableFuture<List<Doc>> walk(String index, UnaryOperator<Query> filter, long afterSeqNo,
                                              Map<String, Doc> found, int pages) {
        Query page = filter.apply(Query.where()).seqNoAfter(afterSeqNo).sortAsc(Query.SEQ_NO).size(WALK_PAGE);
        return store.search(index, page).thenCompose(docs -> {
            long last = afterSeqNo;
            for (Doc d : docs) {
                last = Math.max(last, d.seqNo());
                found.putIfAbsent(d.id(), d);
            }
            if (docs.size() < WALK_PAGE || pages + 1 >= MAX_WALK_PAGES) {
                return CompletableFuture.completedFuture(List.copyOf(found.values()));
            }
            return walk(index, filter, last, found, pages + 1);
        });
    }

    public CompletableFuture<Long> countAgents(Query query) {
        return store.count(FleetIndex.AGENTS, query);
    }

    /** How many agents, active or not, are assigned to the policy. */
    public CompletableFuture<Long> countAgentsOfPolicy(String policyId) {
        return countAgents(Query.where().term("policy_id", policyId));
    }

    /**
     * Writes a batch of agent document changes in one request; each item succeeds or fails on its own, as its
     * {@link WriteResult} says.
     */
    public CompletableFuture<List<WriteResult>> writeAgents(List<WriteOp> ops) {
        for (WriteOp op : ops) {
            if (!FleetIndex.AGENTS.equals(op.index())) {
                throw new IllegalArgumentException("not an agent write: " + op.index());
            }
        }
        return store.bulk(ops);
    }

    /** Applies {@code partial} to each of these agents, in one request; each item succeeds or fails on its own. */
    public CompletableFuture<List<WriteResult>> updateAgents(List<String> agentIds, ObjectNode partial) {
        return store.bulk(agentIds.stream().<WriteOp>map(id -> new WriteOp.Update(FleetIndex.AGENTS, id, partial)).toList());
    }

    /** Applies each agent's own partial update, in one request; each item succeeds or fails on its own. */
    public CompletableFuture<List<WriteResult>> updateAgents(Map<String, ObjectNode> partialsById) {
        return store.bulk(partialsById.entrySet().stream()
                .<WriteOp>map(e -> new WriteOp.Update(FleetIndex.AGENTS, e.getKey(), e.getValue())).toList());
    }

    // --- enrollment keys ---

    /** The one active enrollment key with this API key id, or empty (the original requires exactly one hit). */
    public CompletableFuture<List<EnrollmentKey>> activeEnrollmentKeysByApiKeyId(String apiKeyId) {
        Query q = Query.where().term("api_key_id", apiKeyId).term("active", true).size(2);
        return store.search(FleetIndex.ENROLLMENT_API_KEYS, q).thenApply(ds -> ds.stream().map(EnrollmentKey::new).toList());
    }

    public CompletableFuture<List<EnrollmentKey>> activeEnrollmentKeysOfPolicy(String policyId) {
        Query q = Query.where().term("policy_id", policyId).term("active", true).sortAsc("created_at");
        return store.search(FleetIndex.ENROLLMENT_API_KEYS, q).thenApply(ds -> ds.stream().map(EnrollmentKey::new).toList());
    }

    public CompletableFuture<Long> putEnrollmentKey(String id, ObjectNode source) {
        return store.create(FleetIndex.ENROLLMENT_API_KEYS, id, source);
    }

    public CompletableFuture<Optional<EnrollmentKey>> enrollmentKey(String id) {
        return store.get(FleetIndex.ENROLLMENT_API_KEYS, id).thenApply(d -> d.map(EnrollmentKey::new));
    }

    /** Every enrollment key, active or not, newest first (at most 10 000). */
    public CompletableFuture<List<EnrollmentKey>> enrollmentKeysNewestFirst() {
        Query q = Query.where().sortDesc("created_at").size(10_000);
        return store.search(FleetIndex.ENROLLMENT_API_KEYS, q).thenApply(ds -> ds.stream().map(EnrollmentKey::new).toList());
    }

    /** Unconditional partial update. */
    public CompletableFuture<Long> updateEnrollmentKey(String id, ObjectNode partial) {
        return store.update(FleetIndex.ENROLLMENT_API_KEYS, id, partial);
    }

    // --- policies ---

    /** The highest revision of a policy, or empty when it has none. */
    public CompletableFuture<Optional<PolicyRevision>> latestPolicy(String policyId) {
        Query q = Query.where().term("policy_id", policyId).sortDesc("revision_idx").size(1);
        return store.search(FleetIndex.POLICIES, q)
                .thenApply(ds -> ds.isEmpty() ? Optional.<PolicyRevision>empty() : Optional.of(new PolicyRevision(ds.get(0))));
    }

    /** The highest revision of the newest policy marked {@code default_fleet_server}, or empty when none is. */
    public CompletableFuture<Optional<PolicyRevision>> latestDefaultFleetServerPolicy() {
        Query q = Query.where().term("default_fleet_server", true).sortDesc("revision_idx").size(1);
        return store.search(FleetIndex.POLICIES, q)
                .thenApply(ds -> ds.isEmpty() ? Optional.<PolicyRevision>empty() : Optional.of(new PolicyRevision(ds.get(0))));
    }

    /** The latest revision of each of these policies (one search each, so no older revision is read); absent ones left out. */
    public CompletableFuture<Map<String, PolicyRevision>> latestPolicies(Collection<String> policyIds) {
        Map<String, CompletableFuture<Optional<PolicyRevision>>> reads = new LinkedHashMap<>();
        policyIds.forEach(id -> reads.put(id, latestPolicy(id)));
        return CompletableFuture.allOf(reads.values().toArray(CompletableFuture[]::new)).thenApply(v -> {
            Map<String, PolicyRevision> latest = new HashMap<>();
            reads.forEach((id, read) -> read.join().ifPresent(p -> latest.put(id, p)));
            return latest;
        });
    }

    /**
     * The latest revision of every policy, past one search window of revisions too (up to the walk's
     * {@value #MAX_WALK_PAGES} pages): two small fields of every revision say which revision of each policy is the
     * latest (the first stored of equal numbers), then those revisions alone are read whole, by id. Older revisions'
     * content (up to hundreds of KiB each) is never sent by Elasticsearch nor built by the embedded store.
     */
    public CompletableFuture<Map<String, PolicyRevision>> latestPolicies() {
        return walk(FleetIndex.POLICIES, q -> q.exists("policy_id").fields("policy_id", "revision_idx")).thenCompose(revisions -> {
            Map<String, PolicyRevision> newest = new LinkedHashMap<>();
            revisions.stream().map(PolicyRevision::new).filter(p -> p.policyId() != null)
                    .forEach(p -> newest.merge(p.policyId(), p, (a, b) -> b.revisionIdx() > a.revisionIdx() ? b : a));
            List<CompletableFuture<Optional<Doc>>> reads = newest.values().stream()
                    .map(p -> store.get(FleetIndex.POLICIES, p.doc().id())).toList();
            return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenApply(v -> {
                Map<String, PolicyRevision> latest = new HashMap<>();
                // A revision deleted since (its policy deleted) is left out.
                reads.forEach(read -> read.join().map(PolicyRevision::new).ifPresent(p -> latest.put(p.policyId(), p)));
                return latest;
            });
        });
    }

    /** A policy's revisions, highest first, at most {@code size}. */
    public CompletableFuture<List<PolicyRevision>> policyRevisions(String policyId, int size) {
        Query q = Query.where().term("policy_id", policyId).sortDesc("revision_idx").size(size);
        return store.search(FleetIndex.POLICIES, q).thenApply(ds -> ds.stream().map(PolicyRevision::new).toList());
    }

    /** One revision of a policy, or empty; found by its fields, as revisions Kibana wrote have ids of their own. */
    public CompletableFuture<Optional<PolicyRevision>> policyRevision(String policyId, long revision) {
        Query q = Query.where().term("policy_id", policyId).term("revision_idx", revision).size(1);
        return store.search(FleetIndex.POLICIES, q)
                .thenApply(ds -> ds.isEmpty() ? Optional.<PolicyRevision>empty() : Optional.of(new PolicyRevision(ds.get(0))));
    }

    public CompletableFuture<Long> createPolicyRevision(String docId, ObjectNode source) {
        return store.create(FleetIndex.POLICIES, docId, source);
    }

    /**
     * Deletes the revisions of a policy that a search finds (a revision already gone is not an error); fails with the
     * first other item failure.
     */
    public CompletableFuture<Void> deletePolicyRevisions(String policyId) {
        return store.search(FleetIndex.POLICIES, Query.where().term("policy_id", policyId))
                .thenCompose(revisions -> store.bulk(revisions.stream()
                        .<WriteOp>map(d -> new WriteOp.Delete(FleetIndex.POLICIES, d.id())).toList()))
                .thenApply(results -> {
                    results.forEach(r -> {
                        if (!r.ok() && !(r.error() instanceof StoreException.NotFound)) {
                            throw r.error();
                        }
                    });
                    return null;
                });
    }

    // --- artifacts ---

    /** Stores (or replaces) an artifact document. */
    public CompletableFuture<Long> putArtifact(String id, ObjectNode source) {
        return store.put(FleetIndex.ARTIFACTS, id, source);
    }

    public CompletableFuture<Optional<Doc>> artifact(String id) {
        return store.get(FleetIndex.ARTIFACTS, id);
    }

    public CompletableFuture<Long> deleteArtifact(String id) {
        return store.delete(FleetIndex.ARTIFACTS, id);
    }

    /** The artifact documents of this identifier and decoded SHA-256: one, unless the index was written twice. */
    public CompletableFuture<List<Doc>> artifacts(String identifier, String decodedSha256) {
        Query q = Query.where().term("decoded_sha256", decodedSha256).term("identifier", identifier).size(2);
        return store.search(FleetIndex.ARTIFACTS, q);
    }

    // --- change feeds ---

    /** Follows {@code index} in sequence-number order, calling {@code handler} with each page of new documents. */
    public ChangeFeed changeFeed(String index, Scheduler scheduler, Consumer<List<Doc>> handler) {
        return new ChangeFeed(store, index, scheduler, handler);
    }

    // --- actions ---

    /**
     * Actions for an agent with sequence numbers in {@code (afterSeqNo, upToSeqNo]}, not expired at {@code now},
     * oldest first, at most {@code size}; non-deliverable types are left to the caller to filter (as the original).
     */
    public CompletableFuture<List<Action>> pendingActions(String agentId, long afterSeqNo, long upToSeqNo, Instant now, int size) {
        if (upToSeqNo <= afterSeqNo) {
            return CompletableFuture.completedFuture(List.of());
        }
        Query q = Query.where().seqNoAfter(afterSeqNo).seqNoAtMost(upToSeqNo).after("expiration", Times.millis(now))
                .term("agents", agentId).sortAsc(Query.SEQ_NO).size(size);
        return store.search(FleetIndex.ACTIONS, q).thenApply(ds -> ds.stream().map(Action::new).toList());
    }

    /** Creates action documents, each under a new random id, in one request; fails with the first item failure. */
    public CompletableFuture<Void> createActions(List<ObjectNode> sources) {
        List<WriteOp> ops = sources.stream()
                .<WriteOp>map(src -> new WriteOp.Create(FleetIndex.ACTIONS, UUID.randomUUID().toString(), src)).toList();
        return store.bulk(ops).thenApply(results -> {
            results.forEach(WriteResult::orThrow);
            return null;
        });
    }

    /** Action documents, newest {@code @timestamp} first (at most 10 000). */
    public CompletableFuture<List<Action>> actionsNewestFirst() {
        Query q = Query.where().sortDesc("@timestamp").size(10_000);
        return store.search(FleetIndex.ACTIONS, q).thenApply(ds -> ds.stream().map(Action::new).toList());
    }

    /** Every result document of an action, however many (see {@link #walk}), as stored. */
    public CompletableFuture<List<ObjectNode>> everyActionResult(String actionId) {
        return walk(FleetIndex.ACTION_RESULTS, q -> q.term("action_id", actionId))
                .thenApply(docs -> docs.stream().map(Doc::source).toList());
    }

    /** Up to {@code size} action documents whose {@code expiration} is before {@code cutoff}. */
    public CompletableFuture<List<Action>> actionsExpiredBefore(Instant cutoff, int size) {
        Query q = Query.where().filter(new Filter.Range("expiration", null, null, null, TextNode.valueOf(Times.millis(cutoff))))
                .size(size);
        return store.search(FleetIndex.ACTIONS, q).thenApply(ds -> ds.stream().map(Action::new).toList());
    }

    /** Deletes action documents by document id; completes with how many are gone (deleted now or already). */
    public CompletableFuture<Integer> deleteActions(List<String> docIds) {
        List<WriteOp> deletes = docIds.stream().<WriteOp>map(id -> new WriteOp.Delete(FleetIndex.ACTIONS, id)).toList();
        return store.bulk(deletes).thenApply(results ->
                (int) results.stream().filter(r -> r.ok() || r.error() instanceof StoreException.NotFound).count());
    }

    /** The {@code REQUEST_DIAGNOSTICS} actions sent to an agent, newest first (at most 10 000). */
    public CompletableFuture<List<Action>> diagnosticsRequestsOf(String agentId) {
        Query q = Query.where().term("type", "REQUEST_DIAGNOSTICS").term("agents", agentId).sortDesc("@timestamp").size(10_000);
        return store.search(FleetIndex.ACTIONS, q).thenApply(ds -> ds.stream().map(Action::new).toList());
    }

    /** Every document of one action (Kibana splits an action's agents over several), at most 10 000. */
    public CompletableFuture<List<Action>> actionParts(String actionId) {
        Query q = Query.where().term("action_id", actionId).size(10_000);
        return store.search(FleetIndex.ACTIONS, q).thenApply(ds -> ds.stream().map(Action::new).toList());
    }

    /** The actions addressed to an agent, newest {@code @timestamp} first, at most {@code size}. */
    public CompletableFuture<List<Action>> actionsAddressedTo(String agentId, int size) {
        Query q = Query.where().term("agents", agentId).sortDesc("@timestamp").size(size);
        return store.search(FleetIndex.ACTIONS, q).thenApply(ds -> ds.stream().map(Action::new).toList());
    }

    /** The results an agent wrote for any of these actions (at most 10 000), as stored. */
    public CompletableFuture<List<ObjectNode>> actionResultsOf(String agentId, List<String> actionIds) {
        Query q = Query.where().terms("action_id", actionIds).term("agent_id", agentId).size(10_000);
        return store.search(FleetIndex.ACTION_RESULTS, q).thenApply(ds -> ds.stream().map(Doc::source).toList());
    }

    /** An action by its {@code action_id} (not the document id). */
    public CompletableFuture<Optional<Action>> actionByActionId(String actionId) {
        Query q = Query.where().term("action_id", actionId).size(1);
        return store.search(FleetIndex.ACTIONS, q)
                .thenApply(ds -> ds.isEmpty() ? Optional.<Action>empty() : Optional.of(new Action(ds.get(0))));
    }

    /**
     * The action with this {@code action_id} that names {@code agentId} in its {@code agents}. Kibana splits one
     * action over several documents (same {@code action_id}, some agents each), so any of them will do.
     */
    public CompletableFuture<Optional<Action>> actionAddressedTo(String actionId, String agentId) {
        Query q = Query.where().term("action_id", actionId).term("agents", agentId).size(1);
        return store.search(FleetIndex.ACTIONS, q)
                .thenApply(ds -> ds.isEmpty() ? Optional.<Action>empty() : Optional.of(new Action(ds.get(0))));
    }

    /** The sequence number of the action document with this {@code _id} (an ack token), or empty. */
    public CompletableFuture<Optional<Long>> actionSeqNo(String docId) {
        return store.get(FleetIndex.ACTIONS, docId)
                .thenApply(d -> d.map(x -> x.seqNo()))
                .exceptionally(t -> {
                    if (Futures.unwrap(t) instanceof StoreException.NotFound) {
                        return Optional.empty();
                    }
                    throw t instanceof RuntimeException r ? r : new StoreException(t.getMessage(), t);
                });
    }

    /** Writes an action result with id {@code <action_id>:<agent_id>}; an existing result is kept (the original ignores 409). */
    public CompletableFuture<Void> createActionResult(String actionId, String agentId, ObjectNode source) {
        return store.create(FleetIndex.ACTION_RESULTS, actionId + ":" + agentId, source)
                .handle((seq, t) -> {
                    if (t == null || Futures.unwrap(t) instanceof StoreException.Conflict) {
                        return null;
                    }
                    Throwable cause = Futures.unwrap(t);
                    throw cause instanceof RuntimeException r ? r : new StoreException(cause.getMessage(), cause);
                });
    }
}
