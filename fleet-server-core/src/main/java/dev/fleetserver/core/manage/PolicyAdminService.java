package dev.fleetserver.core.manage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.self.SelfMonitor;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import java.time.Clock;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Agent policies through the management API, in Kibana's shapes: each update is a new revision in
 * {@code .fleet-policies}, which parked agents receive. {@link FleetException}s carry the management errors.
 */
public final class PolicyAdminService {
    /** Policy content keys accepted in a policy body (the agent-facing policy, as Kibana compiles it). */
    static final Set<String> CONTENT_KEYS = Set.of("outputs", "output_permissions", "inputs", "agent", "fleet", "signed",
            "secret_references", "extensions", "receivers", "processors", "connectors", "exporters", "service");
    /** Descriptive keys kept beside the content. */
    static final Set<String> META_KEYS = Set.of("id", "name", "namespace", "description");
    /** Kibana's flags of a policy, kept in its revision documents ({@code is_default_fleet_server} as {@code default_fleet_server}). */
    static final Set<String> FLAG_KEYS = Set.of("has_fleet_server", "is_default_fleet_server", "is_managed");
    private static final int MAX_REVISION_RETRIES = 5;

    private final FleetRepository repo;
    private final EnrollmentKeyAdminService enrollmentKeys;
    private final Clock clock;
    private final ObjectNode defaultOutputs;

    /**
     * @param enrollmentKeys revokes a deleted policy's enrollment keys
     * @param defaultOutputs the outputs of a policy created without any
     */
    public PolicyAdminService(FleetRepository repo, EnrollmentKeyAdminService enrollmentKeys, Clock clock, ObjectNode defaultOutputs) {
        this.repo = repo;
        this.enrollmentKeys = enrollmentKeys;
        this.clock = clock;
        this.defaultOutputs = defaultOutputs;
    }

    /** Creates revision 1 of a new policy; {@code body.id} optional (a UUID otherwise). 409 when the id exists. */
    public CompletableFuture<ObjectNode> createPolicy(JsonNode body) {
        ObjectNode b = Bodies.object(body);
        validatePolicyBody(b, true);
        String id = b.hasNonNull("id") ? b.get("id").textValue() : UUID.randomUUID().toString();
        return repo.latestPolicy(id).thenCompose(existing -> {
            if (existing.isPresent()) {
                throw new FleetException(FleetError.MANAGEMENT_CONFLICT, "agent policy " + id + " already exists");
            }
            ObjectNode meta = Json.object();
            meta.put("name", b.get("name").textValue());
            meta.put("namespace", b.hasNonNull("namespace") ? b.get("namespace").textValue() : "default");
            if (b.hasNonNull("description")) {
                meta.put("description", b.get("description").textValue());
            }
            ObjectNode data = Json.object();
            for (String k : CONTENT_KEYS) {
                if (b.has(k)) {
                    data.set(k, b.get(k));
                }
            }
            if (!data.has("outputs")) {
                data.set("outputs", defaultOutputs.deepCopy());
            }
            if (!data.has("inputs")) {
                data.putArray("inputs");
            }
            boolean fleetServer = b.path("has_fleet_server").asBoolean(false)
                    || b.path("is_default_fleet_server").asBoolean(false);
            if (fleetServer && SelfMonitor.fleetServerInput(data) == null) {
                ((ArrayNode) data.get("inputs")).add(fleetServerInput(meta.get("namespace").asText()));
            }
            meta.put("default_fleet_server", b.path("is_default_fleet_server").asBoolean(false));
            // A Fleet Server policy made here is managed unless asked otherwise: the server's own agent is on it.
            meta.put("is_managed", b.has("is_managed") ? b.get("is_managed").asBoolean() : fleetServer);
            return writeRevision(id, 1, meta, data).thenApply(PolicyAdminService::policyItem)
                    .exceptionally(t -> {
                        if (Futures.unwrap(t) instanceof StoreException.Conflict) {
                            throw new FleetException(FleetError.MANAGEMENT_CONFLICT, "agent policy " + id + " already exists");
                        }
                        throw t instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(t);
                    });
        });
    }

    /** Writes the next revision with the body's fields replacing the latest revision's. 404 for an unknown policy. */
    public CompletableFuture<ObjectNode> updatePolicy(String id, JsonNode body) {
        ObjectNode b = Bodies.object(body);
        validatePolicyBody(b, false);
        if (b.hasNonNull("id") && !b.get("id").asText().equals(id)) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "the body's id does not match the path");
        }
        return updatePolicy(id, b, 0);
    }

    private CompletableFuture<ObjectNode> updatePolicy(String id, ObjectNode b, int attempt) {
        return repo.latestPolicy(id).thenCompose(found -> {
            PolicyRevision latest = found.orElseThrow(() -> policyNotFound(id));
            ObjectNode meta = Json.object();
            for (String k : List.of("name", "namespace", "description")) {
                JsonNode v = b.hasNonNull(k) ? b.get(k) : latest.doc().source().get(k);
                if (v != null && !v.isNull()) {
                    meta.set(k, v);
                }
            }
            meta.put("default_fleet_server", b.has("is_default_fleet_server")
                    ? b.get("is_default_fleet_server").asBoolean() : latest.defaultFleetServer());
            meta.put("is_managed", b.has("is_managed") ? b.get("is_managed").asBoolean() : latest.managed());
            ObjectNode data = latest.data().deepCopy();
            data.remove(List.of("id", "revision"));
            for (String k : CONTENT_KEYS) {
                if (b.has(k)) {
                    data.set(k, b.get(k));
                }
            }
            if ((b.path("has_fleet_server").asBoolean(false) || b.path("is_default_fleet_server").asBoolean(false))
                    && SelfMonitor.fleetServerInput(data) == null) {
                (data.get("inputs") instanceof ArrayNode a ? a : data.putArray("inputs"))
                        .add(fleetServerInput(meta.path("namespace").asText("default")));
            }
            return writeRevision(id, latest.revisionIdx() + 1, meta, data)
                    .thenApply(PolicyAdminService::policyItem)
                    .exceptionallyCompose(t -> {
                        // Another writer took this revision number: build ours on top of theirs.
                        if (Futures.unwrap(t) instanceof StoreException.Conflict) {
                            if (attempt < MAX_REVISION_RETRIES) {
                                return updatePolicy(id, b, attempt + 1);
                            }
                            return CompletableFuture.failedFuture(new FleetException(FleetError.MANAGEMENT_CONFLICT,
                                    "agent policy " + id + " is being updated concurrently; retry"));
                        }
                        return CompletableFuture.failedFuture(t);
                    });
        });
    }

    public CompletableFuture<ObjectNode> getPolicy(String id) {
        return repo.latestPolicy(id).thenApply(found -> policyItem(found.orElseThrow(() -> policyNotFound(id))));
    }

    /** The revisions kept per listing: a policy of 500 KB makes each one that large. */
    static final int MAX_REVISIONS_LISTED = 100;

    /**
     * {@code GET /api/fleet/agent_policies/{id}/revisions}: the policy's revisions, highest first (at most 100), each
     * its number, time and name without its content. 404 for an unknown policy.
     */
    public CompletableFuture<ObjectNode> listRevisions(String id) {
        return repo.policyRevisions(id, MAX_REVISIONS_LISTED).thenApply(revisions -> {
            if (revisions.isEmpty()) {
                throw policyNotFound(id);
            }
            ObjectNode out = Json.object();
            ArrayNode items = out.putArray("items");
            for (PolicyRevision r : revisions) {
                ObjectNode item = items.addObject();
                item.put("revision", r.revisionIdx());
                item.put("updated_at", r.timestamp() != null ? r.timestamp() : "");
                item.put("name", r.name() != null ? r.name() : id);
            }
            out.put("total", revisions.size());
            return out;
        });
    }

    /** {@code GET /api/fleet/agent_policies/{id}/revisions/{revision}}: that revision as {@link #getPolicy} shows the latest. */
    public CompletableFuture<ObjectNode> getRevision(String id, String revision) {
        long n;
        try {
            n = Long.parseLong(revision);
        } catch (NumberFormatException e) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request params.revision]: expected a number");
        }
        return repo.policyRevision(id, n).thenApply(found -> policyItem(found.orElseThrow(
                () -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Agent policy " + id + " has no revision " + n))));
    }

    /**
     * {@code GET /api/fleet/agent_policies/{id}/rollout}: how far the latest revision has reached — the enrolled agents
     * on the policy, how many run the latest revision (they acked it) and how many run each older one.
     */
    public CompletableFuture<ObjectNode> rollout(String id) {
        return repo.latestPolicy(id).thenCompose(found -> {
            PolicyRevision latest = found.orElseThrow(() -> policyNotFound(id));
            return repo.everyAgent(q -> q.term("policy_id", id).term("active", true)).thenApply(agents -> {
                java.util.TreeMap<Long, Integer> byRevision = new java.util.TreeMap<>(java.util.Comparator.reverseOrder());
                int acked = 0;
                for (Agent a : agents) {
                    long rev = a.policyRevisionIdx();
                    byRevision.merge(rev, 1, Integer::sum);
                    if (rev >= latest.revisionIdx()) {
                        acked++;
                    }
                }
                ObjectNode out = Json.object();
                out.put("policy_id", id);
                out.put("revision", latest.revisionIdx());
                out.put("updated_at", latest.timestamp() != null ? latest.timestamp() : "");
                out.put("agents", agents.size());
                out.put("acked", acked);
                ObjectNode revs = out.putObject("by_revision");
                byRevision.forEach((rev, count) -> revs.put(String.valueOf(rev), count));
                return out;
            });
        });
    }

    /**
     * The document id of a revision is {@code <policy id>:<revision>} and written with create, so two servers (or two
     * requests) can never both write the same revision.
     */
    private CompletableFuture<PolicyRevision> writeRevision(String policyId, long revision, ObjectNode meta, ObjectNode data) {
        ObjectNode doc = PolicyRevision.newSource(policyId, revision, clock.instant(), meta, data);
        String docId = PolicyRevision.docId(policyId, revision);
        return repo.createPolicyRevision(docId, doc)
                .thenApply(seq -> new PolicyRevision(new Doc(FleetIndex.POLICIES, docId, seq, 1, doc)));
    }

    private static ObjectNode policyItem(PolicyRevision rev) {
        ObjectNode item = Json.object();
        item.put("id", rev.policyId());
        item.put("name", rev.name() != null ? rev.name() : rev.policyId());
        item.put("namespace", rev.namespace() != null ? rev.namespace() : "default");
        if (rev.description() != null) {
            item.set("description", rev.description());
        }
        item.put("status", "active");
        item.put("is_managed", rev.managed());
        item.put("is_default_fleet_server", rev.defaultFleetServer());
        item.put("has_fleet_server", SelfMonitor.fleetServerInput(rev.data()) != null);
        item.put("revision", rev.revisionIdx());
        item.put("updated_at", rev.timestamp() != null ? rev.timestamp() : "");
        ObjectNode data = rev.data();
        for (String k : CONTENT_KEYS) {
            if (data.has(k)) {
                item.set(k, data.get(k));
            }
        }
        ObjectNode out = Json.object();
        out.set("item", item);
        return out;
    }

    /**
     * The fleet-server input Kibana's {@code fleet_server} integration puts in a policy, with the original's defaults
     * left to the server's configuration (its {@code server} settings empty).
     */
    private static ObjectNode fleetServerInput(String namespace) {
        String packagePolicyId = UUID.randomUUID().toString();
        ObjectNode input = Json.object();
        input.put("id", "fleet-server-fleet_server-" + packagePolicyId);
        input.put("name", "fleet_server-1");
        input.put("revision", 1);
        input.put("type", "fleet-server");
        input.putObject("data_stream").put("namespace", namespace);
        input.put("use_output", "default");
        input.put("package_policy_id", packagePolicyId);
        ObjectNode pkg = input.putObject("meta").putObject("package");
        pkg.put("name", "fleet_server");
        pkg.put("version", "1.6.0");
        input.putObject("server");
        return input;
    }

    private static void validatePolicyBody(ObjectNode b, boolean create) {
        for (String k : FLAG_KEYS) {
            if (b.hasNonNull(k) && !b.get(k).isBoolean()) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body." + k + "]: expected a boolean");
            }
        }
        for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!CONTENT_KEYS.contains(k) && !META_KEYS.contains(k) && !FLAG_KEYS.contains(k)) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body." + k + "]: definition for this key is missing");
            }
        }
        if (create && (!b.hasNonNull("name") || !b.get("name").isTextual() || b.get("name").textValue().isBlank())) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.name]: expected a non-empty string");
        }
        for (String k : List.of("id", "name", "namespace", "description")) {
            if (b.hasNonNull(k) && !b.get(k).isTextual()) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body." + k + "]: expected a string");
            }
        }
        if (b.hasNonNull("id") && (b.get("id").textValue().isBlank() || b.get("id").textValue().contains(":"))) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.id]: must be non-empty and contain no ':'");
        }
        for (String k : List.of("outputs", "output_permissions", "agent", "fleet", "signed")) {
            if (b.hasNonNull(k) && !b.get(k).isObject()) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body." + k + "]: expected an object");
            }
        }
        if (b.hasNonNull("inputs") && !b.get("inputs").isArray()) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.inputs]: expected an array");
        }
        if (b.has("outputs") && b.get("outputs").isObject()) {
            b.get("outputs").fields().forEachRemaining(e -> {
                if (!e.getValue().isObject() || !e.getValue().path("type").isTextual()) {
                    throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST,
                            "[request body.outputs." + e.getKey() + "]: expected an object with a string type");
                }
            });
        }
    }

    /** Creates the policy with this id unless it exists; {@code body} as for {@link #createPolicy}. */
    public CompletableFuture<Void> ensurePolicy(ObjectNode body) {
        String id = body.get("id").textValue();
        return repo.latestPolicy(id).thenCompose(p -> p.isPresent()
                ? CompletableFuture.completedFuture(null)
                : createPolicy(body).<Void>thenApply(x -> null));
    }

    /**
     * Kibana's {@code POST /api/fleet/agent_policies/delete}: removes every revision and deactivates the policy's
     * enrollment keys. Refused (400) while any agent, active or not, is assigned to it, so nothing is left dangling.
     */
    public CompletableFuture<ObjectNode> deletePolicy(JsonNode body) {
        ObjectNode b = Bodies.object(body);
        if (!b.path("agentPolicyId").isTextual() || b.get("agentPolicyId").textValue().isEmpty()) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.agentPolicyId]: expected a non-empty string");
        }
        String id = b.get("agentPolicyId").textValue();
        return repo.latestPolicy(id).thenCompose(found -> {
            if (found.isEmpty()) {
                throw policyNotFound(id);
            }
            return repo.countAgentsOfPolicy(id);
        }).thenCompose(assigned -> {
            if (assigned > 0) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST,
                        "Cannot delete an agent policy that is assigned to any active or inactive agents");
            }
            return repo.activeEnrollmentKeysOfPolicy(id);
        }).thenCompose(keys -> {
            List<CompletableFuture<ObjectNode>> revoked = keys.stream().map(k -> enrollmentKeys.revokeEnrollmentKey(k.id())).toList();
            return CompletableFuture.allOf(revoked.toArray(CompletableFuture[]::new));
        }).thenCompose(v -> repo.deletePolicyRevisions(id))
                .thenApply(v -> {
                    ObjectNode out = Json.object();
                    out.put("id", id);
                    out.put("name", id);
                    return out;
                });
    }

    /**
     * Latest revision of every policy, as Kibana lists agent policies.
     *
     * @param full whether each item carries the policy's content ({@link #CONTENT_KEYS}, often hundreds of KiB); without
     *             it an item only describes the policy (id, name, namespace, description, status, flags, revision, updated_at)
     */
    public CompletableFuture<ObjectNode> listPolicies(boolean full) {
        return repo.latestPolicies().thenApply(latest -> {
            ObjectNode out = Json.object();
            ArrayNode items = out.putArray("items");
            latest.values().stream().sorted(java.util.Comparator.comparing(PolicyRevision::policyId)).forEach(p -> {
                ObjectNode item = (ObjectNode) policyItem(p).get("item");
                if (!full) {
                    item.remove(CONTENT_KEYS);
                }
                items.add(item);
            });
            out.put("total", latest.size());
            out.put("page", 1);
            out.put("perPage", latest.size());
            return out;
        });
    }

    private static FleetException policyNotFound(String id) {
        return new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Agent policy " + id + " not found");
    }
}
