package dev.fleetserver.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.longpoll.CheckinResponse;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.HeldOutputKeys;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each agent's own API key per output, as Elastic Agent expects them in POLICY_CHANGE, kept on the agent document
 * under {@code outputs.<name>}: {@code api_key} ({@code id:key}), {@code api_key_id}, {@code permissions_hash},
 * {@code type}, and {@code to_retire_api_key_ids} ({@code [{id, retired_at, output}]}).
 *
 * <p>A key is created when the agent has none for the output, when the output's permissions changed (their hash
 * differs), when the output changed type, or when a remote output's {@code hosts} changed (recorded as
 * {@code outputs.<name>.hosts}: a key of one cluster is no use in another). A changed permission gets a <em>new</em> key rather than the original's
 * in-place role update with {@code -rdstale} role copies: the agent is sent the new key in the same POLICY_CHANGE
 * either way, the old key keeps working until the agent acks that revision (then it is invalidated, see
 * {@link #retireAcked}), and a fresh key has exactly the policy's privileges with no stale roles to clean up. A
 * revision whose permissions did not change creates nothing. Outputs the agent has keys for but the policy no longer
 * names have their keys invalidated and their entry removed (by a conditional replace of the whole document: a
 * partial update cannot delete a field, and readers such as Kibana expect every entry to be an object).
 *
 * <p>Two servers preparing the same agent at once: the agent document is written only if unchanged since read
 * ({@code if_seq_no}/{@code if_primary_term}); the loser re-reads, uses the keys the winner stored and invalidates
 * the ones it created for nothing.
 */
public final class AgentOutputKeys {
    private static final Logger LOG = LoggerFactory.getLogger(AgentOutputKeys.class);
    private static final int MAX_ATTEMPTS = 5;

    private final FleetRepository repo;
    private final OutputKeys outputKeys;
    private final boolean issuesKeys;
    private final Clock clock;

    /** Under {@link OutputKeys#none()} the agent document is never read for a delivery. */
    public AgentOutputKeys(FleetRepository repo, OutputKeys outputKeys, Clock clock) {
        this.repo = repo;
        this.outputKeys = outputKeys;
        this.issuesKeys = outputKeys.issuesKeys();
        this.clock = clock;
    }

    /** Whether delivering policies involves per-agent keys at all (if not, {@link PreparedPolicy#responseFor(String)} is the answer). */
    public boolean issuesKeys() {
        return issuesKeys;
    }

    /** The {@code id:key} of every keyed output when every entry {@code held} fits {@code policy} as it is, else null. */
    private static Map<String, String> plainIfFitting(HeldOutputKeys held, PreparedPolicy policy) {
        Map<String, String> plain = new LinkedHashMap<>();
        for (PreparedPolicy.KeyedOutput out : policy.keyedOutputs()) {
            HeldOutputKeys.Entry found = held.entry(out.name());
            if (found == null || !fits(found.apiKey(), found.type(), found.hosts(), found.permissionsHash(), out)) {
                return null;
            }
            plain.put(out.name(), found.apiKey());
        }
        // An entry the policy no longer keys is removed on delivery: that needs the document.
        return plain.size() == held.size() ? plain : null;
    }

    /**
     * The POLICY_CHANGE for a parked agent: from what it {@code held} when the keys it has fit the policy, else as
     * {@link #responseFor(PreparedPolicy, String)}.
     *
     * @param held the agent's entries as its checkin read them, or null when unknown
     */
    public CompletableFuture<CheckinResponse> responseFor(PreparedPolicy policy, String agentId, HeldOutputKeys held) {
        if (!issuesKeys) {
            return CompletableFuture.completedFuture(policy.responseFor(agentId));
        }
        Map<String, String> plain = held == null ? null : plainIfFitting(held, policy);
        return plain != null ? CompletableFuture.completedFuture(policy.responseFor(agentId, plain)) : responseFor(policy, agentId);
    }

    /** The POLICY_CHANGE for an agent, reading its document first (a delivery to a parked checkin). */
    public CompletableFuture<CheckinResponse> responseFor(PreparedPolicy policy, String agentId) {
        if (!issuesKeys) {
            return CompletableFuture.completedFuture(policy.responseFor(agentId));
        }
        return repo.agent(agentId).thenCompose(a -> a.isPresent()
                ? responseFor(policy, a.get())
                : CompletableFuture.completedFuture(policy.responseFor(agentId)));
    }

    /**
     * The POLICY_CHANGE for an agent whose document was read as {@code agent}, creating, storing and retiring its
     * output keys as the policy requires first.
     */
    public CompletableFuture<CheckinResponse> responseFor(PreparedPolicy policy, Agent agent) {
        if (!issuesKeys) {
            return CompletableFuture.completedFuture(policy.responseFor(agent.id()));
        }
        Map<String, ApiKey> created = new ConcurrentHashMap<>();
        return ensure(policy, agent, created, 1)
                .handle((keys, t) -> {
                    // Keys created but not stored (a winner's were used, or the write failed) must not stay valid.
                    Set<String> used = keys == null ? Set.of() : new HashSet<>(keys.values());
                    Map<String, List<String>> unused = new HashMap<>();
                    created.forEach((output, k) -> {
                        if (!used.contains(k.plain())) {
                            unused.computeIfAbsent(output, o -> new ArrayList<>()).add(k.id());
                        }
                    });
                    invalidate(unused).exceptionally(e -> {
                        LOG.warn("agent {}: unused output keys {} could not be invalidated: {}", agent.id(), unused, e.toString());
                        return null;
                    });
                    if (t != null) {
                        throw t instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(t);
                    }
                    return policy.responseFor(agent.id(), keys);
                });
    }

    /** The {@code id:key} of every keyed output, after making the agent document hold fitting keys. */
    private CompletableFuture<Map<String, String>> ensure(PreparedPolicy policy, Agent agent, Map<String, ApiKey> created,
                                                          int attempt) {
        JsonNode stored = agent.source().path("outputs");
        Map<String, String> plain = new LinkedHashMap<>();
        List<PreparedPolicy.KeyedOutput> stale = new ArrayList<>();
        Set<String> keyedNames = new HashSet<>();
        for (PreparedPolicy.KeyedOutput out : policy.keyedOutputs()) {
            keyedNames.add(out.name());
            JsonNode entry = stored.path(out.name());
            if (fits(entry, out)) {
                plain.put(out.name(), entry.get("api_key").asText());
            } else {
                stale.add(out);
            }
        }
        Map<String, JsonNode> removed = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = stored.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().isObject() && !keyedNames.contains(e.getKey())) {
                removed.put(e.getKey(), e.getValue());
            }
        }
        if (stale.isEmpty() && removed.isEmpty()) {
            return CompletableFuture.completedFuture(plain);
        }
        List<CompletableFuture<ApiKey>> creating = new ArrayList<>();
        for (PreparedPolicy.KeyedOutput out : stale) {
            ApiKey have = created.get(out.name());
            CompletableFuture<ApiKey> made = have != null ? CompletableFuture.completedFuture(have) : create(agent.id(), policy, out)
                    .thenApply(k -> {
                        created.put(out.name(), k);
                        return k;
                    });
            if (out.type().equals("remote_elasticsearch")) {
                // As the original: a remote cluster that cannot issue a key costs that output its key, not the checkin.
                made = made.exceptionally(t -> {
                    LOG.warn("agent {}: no key from the remote cluster of output {}; sent without api_key: {}",
                            agent.id(), out.name(), Futures.unwrap(t).toString());
                    return null;
                });
            }
            creating.add(made);
        }
        Map<String, List<String>> removedIds = new HashMap<>();
        removed.forEach((name, entry) -> {
            List<String> ids = new ArrayList<>();
            addId(ids, entry.get("api_key_id"));
            entry.path("to_retire_api_key_ids").forEach(r -> addId(ids, r.get("id")));
            if (!ids.isEmpty()) {
                removedIds.put(name, ids);
            }
        });
        // The removed outputs' keys go first: the agent is about to stop using them, and a key of an output it no
        // longer has must not outlive a failure between here and the write.
        return CompletableFuture.allOf(creating.toArray(CompletableFuture[]::new))
                .thenCompose(v -> invalidate(removedIds))
                .thenCompose(v -> {
                    String now = Times.millis(clock.instant());
                    ObjectNode outputs = Json.object();
                    for (int i = 0; i < stale.size(); i++) {
                        PreparedPolicy.KeyedOutput out = stale.get(i);
                        ApiKey key = creating.get(i).join();
                        if (key != null) {
                            outputs.set(out.name(), entry(stored.path(out.name()), policy, out, key, now));
                            plain.put(out.name(), key.plain());
                        }
                    }
                    if (!removed.isEmpty()) {
                        // A partial update cannot delete a field, and a null entry would break readers that expect
                        // every output to be an object (Kibana's unenroll walks Object.values(agent.outputs)): the
                        // whole document is replaced, only if it is still the version read.
                        ObjectNode full = agent.source().deepCopy();
                        ObjectNode all = full.with("outputs");
                        removed.keySet().forEach(all::remove);
                        outputs.fields().forEachRemaining(e -> all.set(e.getKey(), e.getValue()));
                        full.put("updated_at", now);
                        return repo.replaceAgentIfUnchanged(agent, full).thenApply(seq -> plain);
                    }
                    if (outputs.isEmpty()) {
                        return CompletableFuture.completedFuture(plain);
                    }
                    ObjectNode partial = Json.object();
                    partial.set("outputs", outputs);
                    partial.put("updated_at", now);
                    return repo.updateAgentIfUnchanged(agent, partial).thenApply(seq -> plain);
                })
                .exceptionallyCompose(t -> {
                    if (!(Futures.unwrap(t) instanceof StoreException.Conflict) || attempt >= MAX_ATTEMPTS) {
                        return CompletableFuture.failedFuture(t);
                    }
                    // Someone else wrote the agent (maybe another server with its keys): start over from what is stored.
                    return repo.agent(agent.id()).thenCompose(fresh -> fresh.isPresent()
                            ? ensure(policy, fresh.get(), created, attempt + 1)
                            : CompletableFuture.failedFuture(t));
                });
    }

    /** Whether the stored entry holds a key made for exactly this output's permissions and type. */
    private static boolean fits(JsonNode entry, PreparedPolicy.KeyedOutput out) {
        JsonNode type = entry.get("type");
        return fits(entry.path("api_key").asText(""), type == null || type.isNull() ? null : type.asText(),
                entry.get("hosts"), entry.path("permissions_hash").asText(""), out);
    }

    /** {@link #fits(JsonNode, PreparedPolicy.KeyedOutput)} on an entry's fields; a null type is taken as the output's. */
    private static boolean fits(String key, String type, JsonNode hosts, String permissionsHash, PreparedPolicy.KeyedOutput out) {
        // Hosts are recorded by this server only; an entry without them (the original's) is taken as matching.
        boolean sameCluster = out.remoteHosts() == null || hosts == null || hosts.equals(out.remoteHosts());
        return !key.isEmpty() && !InlineSecretsCheck.isReference(key)
                && out.permissionsHash().equals(permissionsHash)
                && out.type().equals(type == null ? out.type() : type) && sameCluster;
    }

    private CompletableFuture<ApiKey> create(String agentId, PreparedPolicy policy, PreparedPolicy.KeyedOutput out) {
        ObjectNode metadata = Json.object();
        metadata.put("agent_id", agentId);
        metadata.put("managed", true);
        metadata.put("managed_by", "fleet-server");
        metadata.put("output_name", out.name());
        metadata.put("type", "output");
        metadata.put("policy_id", policy.policyId());
        return out.keys().create(agentId + ":" + out.name(), out.permissions().deepCopy(), metadata);
    }

    /** The new entry of an output: the new key, and the one it replaces added to those retired after the next ack. */
    private static ObjectNode entry(JsonNode old, PreparedPolicy policy, PreparedPolicy.KeyedOutput out, ApiKey key, String now) {
        ObjectNode e = Json.object();
        e.put("api_key", key.plain());
        e.put("api_key_id", key.id());
        e.put("permissions_hash", out.permissionsHash());
        e.put("type", out.type());
        if (out.remoteHosts() != null) {
            e.set("hosts", out.remoteHosts().deepCopy());
        }
        ArrayNode retired = e.putArray("to_retire_api_key_ids");
        old.path("to_retire_api_key_ids").forEach(r -> retired.add(r.deepCopy()));
        String oldId = old.path("api_key_id").asText("");
        if (!oldId.isEmpty() && !oldId.equals(key.id())) {
            ObjectNode r = retired.addObject();
            r.put("id", oldId);
            r.put("retired_at", now);
            r.put("output", out.name());
            // The delivery that replaced it: the key is due once the agent runs this revision (see retireAcked).
            r.put("policy_id", policy.policyId());
            r.put("revision_idx", policy.revision());
        }
        return e;
    }

    /**
     * After the agent acked (or reported running) revision {@code revision} of policy {@code policyId}: invalidates
     * the retired keys of its outputs that the agent no longer needs, and returns the fields that drop them from the
     * lists, for the caller's conditional write. Completes with an empty object when nothing is due.
     *
     * <p>A key is due when the delivery that replaced it is one the agent now runs: each retired entry records the
     * policy and revision of that delivery ({@code policy_id}, {@code revision_idx}); one replaced in a revision of
     * this policy the agent has not reached yet stays (so an agent that failed to apply a newer revision keeps a
     * working key). Entries without that record (written by the original) are due at once, as the original does. An
     * output's current key is never invalidated.
     */
    public CompletableFuture<ObjectNode> retireAcked(Agent agent, String policyId, long revision) {
        JsonNode stored = agent.source().path("outputs");
        ObjectNode outputs = Json.object();
        Map<String, List<String>> ids = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = stored.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode list = e.getValue().path("to_retire_api_key_ids");
            if (!list.isArray() || list.isEmpty()) {
                continue;
            }
            String current = e.getValue().path("api_key_id").asText("");
            List<String> due = new ArrayList<>();
            ArrayNode kept = Json.array();
            list.forEach(r -> {
                boolean notYet = policyId.equals(r.path("policy_id").asText(null))
                        && r.path("revision_idx").asLong(Long.MIN_VALUE) > revision;
                if (notYet || current.equals(r.path("id").asText(""))) {
                    kept.add(r.deepCopy());
                } else {
                    addId(due, r.get("id"));
                }
            });
            if (!due.isEmpty()) {
                ids.put(e.getKey(), due);
            }
            if (kept.size() != list.size()) {
                outputs.putObject(e.getKey()).set("to_retire_api_key_ids", kept);
            }
        }
        if (outputs.isEmpty()) {
            return CompletableFuture.completedFuture(Json.object());
        }
        return invalidate(ids).thenApply(v -> {
            ObjectNode partial = Json.object();
            partial.set("outputs", outputs);
            return partial;
        });
    }

    /**
     * {@link #retireAcked} for an agent that reports running a newer revision in its checkin (the ack may come later
     * or, from a checkin recorded first, never move the revision): invalidates and clears now. Best effort: a
     * concurrent write of the document leaves the work to the next ack or checkin.
     */
    public CompletableFuture<Void> retireReported(Agent agent, long revision) {
        if (!issuesKeys || !hasRetired(agent) || agent.policyId() == null) {
            return CompletableFuture.completedFuture(null);
        }
        return retireAcked(agent, agent.policyId(), revision)
                .thenCompose(partial -> partial.isEmpty()
                        ? CompletableFuture.completedFuture(0L)
                        : repo.updateAgentIfUnchanged(agent, partial))
                .<Void>thenApply(seq -> null)
                .exceptionally(t -> {
                    if (!(Futures.unwrap(t) instanceof StoreException.Conflict)) {
                        LOG.warn("agent {}: retired output keys not cleaned up yet: {}", agent.id(), t.toString());
                    }
                    return null;
                });
    }

    private static boolean hasRetired(Agent agent) {
        for (JsonNode out : agent.source().path("outputs")) {
            if (out.path("to_retire_api_key_ids").isArray() && !out.path("to_retire_api_key_ids").isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /** True when some output of the agent has an entry without a key: the original then resends the policy. */
    public static boolean missesAKey(Agent agent) {
        JsonNode outputs = agent.source().get("outputs");
        if (outputs == null || !outputs.isObject()) {
            return false;
        }
        for (JsonNode out : outputs) {
            if (out.isObject() && out.path("api_key").asText("").isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private CompletableFuture<Void> invalidate(Map<String, List<String>> idsByOutput) {
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        idsByOutput.forEach((output, ids) -> outputKeys.forRetired(output)
                .ifPresent((ApiKeys keys) -> calls.add(keys.invalidate(ids))));
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
    }

    private static void addId(List<String> ids, JsonNode id) {
        if (id != null && id.isTextual() && !id.textValue().isEmpty()) {
            ids.add(id.textValue());
        }
    }

    /** A Go server storing keys through {@code _fleet/secret} leaves a reference this server cannot send as a key. */
    private static final class InlineSecretsCheck {
        static boolean isReference(String value) {
            return value.startsWith("$co.elastic.secret{");
        }
    }
}
