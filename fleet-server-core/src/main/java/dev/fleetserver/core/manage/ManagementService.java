package dev.fleetserver.core.manage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.FleetRoles;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.EnrollmentKey;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.self.SelfMonitor;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * The management operations behind the Kibana-shaped API on the management listener: agent policies (each update a
 * new revision in {@code .fleet-policies}, which parked agents receive), enrollment keys, and reading agents.
 * Request and response bodies follow Kibana's Fleet API; {@link FleetException}s carry the management errors.
 */
public final class ManagementService {
    /** Policy content keys accepted in a policy body (the agent-facing policy, as Kibana compiles it). */
    static final Set<String> CONTENT_KEYS = Set.of("outputs", "output_permissions", "inputs", "agent", "fleet", "signed",
            "secret_references", "extensions", "receivers", "processors", "connectors", "exporters", "service");
    /** Descriptive keys kept beside the content. */
    static final Set<String> META_KEYS = Set.of("id", "name", "namespace", "description");
    /** Kibana's flags of a policy, kept in its revision documents ({@code is_default_fleet_server} as {@code default_fleet_server}). */
    static final Set<String> FLAG_KEYS = Set.of("has_fleet_server", "is_default_fleet_server", "is_managed");
    private static final int MAX_REVISION_RETRIES = 5;
    private static final Duration OFFLINE_AFTER = Duration.ofMinutes(5);

    private final FleetRepository repo;
    private final ApiKeys apiKeys;
    private final Clock clock;
    private final ObjectNode defaultOutputs;

    public ManagementService(FleetRepository repo, ApiKeys apiKeys, Clock clock, ObjectNode defaultOutputs) {
        this.repo = repo;
        this.apiKeys = apiKeys;
        this.clock = clock;
        this.defaultOutputs = defaultOutputs;
    }

    // --- agent policies ---

    /** Creates revision 1 of a new policy; {@code body.id} optional (a UUID otherwise). 409 when the id exists. */
    public CompletableFuture<ObjectNode> createPolicy(JsonNode body) {
        ObjectNode b = requireObject(body);
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
            return writeRevision(id, 1, meta, data).thenApply(ManagementService::policyItem)
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
        ObjectNode b = requireObject(body);
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
            JsonNode previous = latest.doc().source();
            meta.put("default_fleet_server", b.has("is_default_fleet_server")
                    ? b.get("is_default_fleet_server").asBoolean() : previous.path("default_fleet_server").asBoolean(false));
            meta.put("is_managed", b.has("is_managed") ? b.get("is_managed").asBoolean()
                    : previous.path("is_managed").asBoolean(false));
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
                    .thenApply(ManagementService::policyItem)
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

    /**
     * The document id of a revision is {@code <policy id>:<revision>} and written with create, so two servers (or two
     * requests) can never both write the same revision.
     */
    private CompletableFuture<PolicyRevision> writeRevision(String policyId, long revision, ObjectNode meta, ObjectNode data) {
        ObjectNode doc = Json.object();
        doc.put("@timestamp", Times.millis(clock.instant()));
        doc.put("policy_id", policyId);
        doc.put("revision_idx", revision);
        doc.put("coordinator_idx", 0);
        ObjectNode d = Json.object();
        d.put("id", policyId);
        d.put("revision", revision);
        d.setAll(data);
        doc.set("data", d);
        doc.put("default_fleet_server", false);
        doc.put("is_managed", false);
        doc.setAll(meta);
        String docId = policyId + ":" + revision;
        return repo.createPolicyRevision(docId, doc)
                .thenApply(seq -> new PolicyRevision(new Doc(FleetIndex.POLICIES, docId, seq, 1, doc)));
    }

    private static ObjectNode policyItem(PolicyRevision rev) {
        ObjectNode item = Json.object();
        ObjectNode src = rev.doc().source();
        item.put("id", rev.policyId());
        item.put("name", src.path("name").asText(rev.policyId()));
        item.put("namespace", src.path("namespace").asText("default"));
        if (src.hasNonNull("description")) {
            item.set("description", src.get("description"));
        }
        item.put("status", "active");
        item.put("is_managed", src.path("is_managed").asBoolean(false));
        item.put("is_default_fleet_server", src.path("default_fleet_server").asBoolean(false));
        item.put("has_fleet_server", SelfMonitor.fleetServerInput(rev.data()) != null);
        item.put("revision", rev.revisionIdx());
        item.put("updated_at", src.path("@timestamp").asText(""));
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

    // --- enrollment keys ---

    /** Creates an active enrollment key for an existing policy; the item carries the token ({@code api_key}). */
    public CompletableFuture<ObjectNode> createEnrollmentKey(JsonNode body) {
        ObjectNode b = requireObject(body);
        if (!b.path("policy_id").isTextual() || b.get("policy_id").textValue().isEmpty()) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.policy_id]: expected a non-empty string");
        }
        if (b.hasNonNull("name") && !b.get("name").isTextual()) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.name]: expected a string");
        }
        String policyId = b.get("policy_id").textValue();
        return repo.latestPolicy(policyId).thenCompose(policy -> {
            if (policy.isEmpty()) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "Agent policy " + policyId + " not found");
            }
            String id = UUID.randomUUID().toString();
            String name = (b.hasNonNull("name") ? b.get("name").textValue() : "Default") + " (" + id + ")";
            ObjectNode meta = Json.object();
            meta.put("managed_by", "fleet");
            meta.put("managed", true);
            meta.put("type", "enroll");
            meta.put("policy_id", policyId);
            return apiKeys.create(name, FleetRoles.enroll(), meta).thenCompose(key -> {
                ObjectNode doc = Json.object();
                doc.put("active", true);
                doc.put("api_key_id", key.id());
                doc.put("api_key", key.token());
                doc.put("name", name);
                doc.put("policy_id", policyId);
                doc.put("created_at", Times.millis(clock.instant()));
                return repo.putEnrollmentKey(id, doc).thenApply(seq -> {
                    ObjectNode out = Json.object();
                    out.put("action", "created");
                    out.set("item", enrollmentKeyItem(id, doc));
                    return out;
                });
            });
        });
    }

    /** The token of an active enrollment key of the policy, creating one when there is none. */
    public CompletableFuture<String> ensureEnrollmentToken(String policyId) {
        return ensureEnrollmentKey(policyId).thenApply(EnrollmentToken::token);
    }

    /** An enrollment token, and whether this call created its key (rather than finding an active one). */
    public record EnrollmentToken(String token, boolean created) {
    }

    /** As {@link #ensureEnrollmentToken}, also saying whether the key was created now. */
    public CompletableFuture<EnrollmentToken> ensureEnrollmentKey(String policyId) {
        return activeEnrollmentToken(repo, policyId).thenCompose(existing -> {
            if (existing.isPresent()) {
                return CompletableFuture.completedFuture(new EnrollmentToken(existing.get(), false));
            }
            ObjectNode body = Json.object().put("policy_id", policyId);
            return createEnrollmentKey(body).thenApply(r -> new EnrollmentToken(r.path("item").path("api_key").asText(), true));
        });
    }

    /** The token of an active enrollment key of the policy, if it has one; only reads. */
    public static CompletableFuture<Optional<String>> activeEnrollmentToken(FleetRepository repo, String policyId) {
        return repo.activeEnrollmentKeysOfPolicy(policyId)
                .thenApply(keys -> keys.stream().map(EnrollmentKey::apiKey).filter(k -> k != null).findFirst());
    }

    private static ObjectNode enrollmentKeyItem(String id, ObjectNode doc) {
        ObjectNode item = Json.object();
        item.put("id", id);
        item.setAll(doc);
        return item;
    }

    /** Creates the policy with this id unless it exists; {@code body} as for {@link #createPolicy}. */
    public CompletableFuture<Void> ensurePolicy(ObjectNode body) {
        String id = body.get("id").textValue();
        return repo.latestPolicy(id).thenCompose(p -> p.isPresent()
                ? CompletableFuture.completedFuture(null)
                : createPolicy(body).<Void>thenApply(x -> null));
    }

    // --- agents ---

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
        Query q = filter.apply(Query.where().sortDesc("enrolled_at").size(10_000));
        if (!showInactive) {
            q.term("active", true);
        }
        Instant now = clock.instant();
        return repo.agents(q).thenApply(all -> {
            List<Agent> matching = all.stream().filter(a -> filter.matchesComputed(a, now)).toList();
            ObjectNode out = Json.object();
            ArrayNode items = out.putArray("items");
            matching.stream().skip((long) (page - 1) * perPage).limit(perPage).forEach(a -> items.add(agentItem(a, now)));
            out.put("total", matching.size());
            out.put("page", page);
            out.put("perPage", perPage);
            return out;
        });
    }

    /**
     * Kibana's {@code POST /api/fleet/agent_policies/delete}: removes every revision and deactivates the policy's
     * enrollment keys. Refused (400) while any agent, active or not, is assigned to it, so nothing is left dangling.
     */
    public CompletableFuture<ObjectNode> deletePolicy(JsonNode body) {
        ObjectNode b = requireObject(body);
        if (!b.path("agentPolicyId").isTextual() || b.get("agentPolicyId").textValue().isEmpty()) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.agentPolicyId]: expected a non-empty string");
        }
        String id = b.get("agentPolicyId").textValue();
        return repo.latestPolicy(id).thenCompose(found -> {
            if (found.isEmpty()) {
                throw policyNotFound(id);
            }
            return repo.countAgents(Query.where().term("policy_id", id));
        }).thenCompose(assigned -> {
            if (assigned > 0) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST,
                        "Cannot delete an agent policy that is assigned to any active or inactive agents");
            }
            return repo.activeEnrollmentKeysOfPolicy(id);
        }).thenCompose(keys -> {
            List<CompletableFuture<ObjectNode>> revoked = keys.stream().map(k -> revokeEnrollmentKey(k.id())).toList();
            return CompletableFuture.allOf(revoked.toArray(CompletableFuture[]::new));
        }).thenCompose(v -> repo.store().search(FleetIndex.POLICIES, Query.where().term("policy_id", id)))
                .thenCompose(revisions -> repo.store().bulk(revisions.stream()
                        .<WriteOp>map(d -> new WriteOp.Delete(FleetIndex.POLICIES, d.id())).toList()))
                .thenApply(results -> {
                    results.forEach(r -> {
                        if (!r.ok() && !(r.error() instanceof StoreException.NotFound)) {
                            throw r.error();
                        }
                    });
                    ObjectNode out = Json.object();
                    out.put("id", id);
                    out.put("name", id);
                    return out;
                });
    }

    /** Latest revision of every policy, as Kibana lists agent policies. */
    public CompletableFuture<ObjectNode> listPolicies() {
        return repo.latestPolicies().thenApply(latest -> {
            ObjectNode out = Json.object();
            ArrayNode items = out.putArray("items");
            latest.values().stream().sorted(java.util.Comparator.comparing(PolicyRevision::policyId))
                    .forEach(p -> items.add(policyItem(p).get("item")));
            out.put("total", latest.size());
            out.put("page", 1);
            out.put("perPage", latest.size());
            return out;
        });
    }

    /** Enrollment keys, newest first; the token is included, as Kibana shows it. */
    public CompletableFuture<ObjectNode> listEnrollmentKeys(int page, int perPage) {
        Query q = Query.where().sortDesc("created_at").size(10_000);
        return repo.store().search(FleetIndex.ENROLLMENT_API_KEYS, q).thenApply(docs -> {
            ObjectNode out = Json.object();
            ArrayNode items = out.putArray("items");
            docs.stream().skip((long) Math.max(0, page - 1) * perPage).limit(perPage)
                    .forEach(d -> items.add(enrollmentKeyItem(d.id(), d.source())));
            out.put("total", docs.size());
            out.put("page", page);
            out.put("perPage", perPage);
            return out;
        });
    }

    /** Revokes an enrollment key: unusable at once (the document goes inactive, the API key is invalidated). */
    public CompletableFuture<ObjectNode> revokeEnrollmentKey(String id) {
        return repo.store().get(FleetIndex.ENROLLMENT_API_KEYS, id).thenCompose(found -> {
            Doc doc = found.orElseThrow(() -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Enrollment key " + id + " not found"));
            ObjectNode partial = Json.object().put("active", false).put("updated_at", Times.millis(clock.instant()));
            String keyId = Json.text(doc.source(), "api_key_id");
            return repo.store().update(FleetIndex.ENROLLMENT_API_KEYS, id, partial)
                    .thenCompose(seq -> keyId == null ? CompletableFuture.completedFuture(null) : apiKeys.invalidate(List.of(keyId)))
                    .thenApply(v -> Json.object().put("action", "deleted"));
        });
    }

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
        item.put("status", status(a, now));
        if (a.source().has("policy_revision_idx")) {
            item.put("policy_revision", a.policyRevisionIdx());
        }
        return item;
    }

    /**
     * Kibana's agent status from the document alone. An agent that reported itself uninstalled or orphaned
     * ({@code audit_unenrolled_reason}) is {@code uninstalled} / {@code orphaned} until its next checkin removes the
     * mark: after the unenrolled and inactive rules, before every rule about its checkins.
     */
    public static String status(Agent a, Instant now) {
        if (!a.active()) {
            return a.source().hasNonNull("unenrolled_at") ? "unenrolled" : "inactive";
        }
        String audit = Json.text(a.source(), "audit_unenrolled_reason");
        if ("uninstall".equals(audit)) {
            return "uninstalled";
        }
        if ("orphaned".equals(audit)) {
            return "orphaned";
        }
        if (a.source().hasNonNull("unenrollment_started_at")) {
            return "unenrolling";
        }
        Instant last = Times.parse(Json.text(a.source(), "last_checkin"));
        if (last == null) {
            return "enrolling";
        }
        if (last.plus(OFFLINE_AFTER).isBefore(now)) {
            return "offline";
        }
        if (upgrading(a)) {
            return "updating";
        }
        String s = a.lastCheckinStatus() == null ? "" : a.lastCheckinStatus().toLowerCase(java.util.Locale.ROOT);
        return switch (s) {
            case "error", "failed" -> "error";
            case "degraded" -> "degraded";
            default -> "online";
        };
    }

    /** An upgrade was started and has neither finished nor failed. */
    private static boolean upgrading(Agent a) {
        JsonNode details = a.source().get("upgrade_details");
        if (details != null && details.isObject()) {
            String state = details.path("state").asText("");
            return !state.equals("UPG_FAILED") && !state.equals("UPG_COMPLETED");
        }
        return a.source().hasNonNull("upgrade_started_at");
    }

    private static ObjectNode requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "expected a JSON object body");
        }
        return (ObjectNode) body;
    }

    private static FleetException policyNotFound(String id) {
        return new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Agent policy " + id + " not found");
    }
}
