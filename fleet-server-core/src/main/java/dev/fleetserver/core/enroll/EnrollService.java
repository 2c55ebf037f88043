package dev.fleetserver.core.enroll;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.FleetRoles;
import dev.fleetserver.core.auth.AgentAuthenticator;
import dev.fleetserver.core.auth.ApiKeyAuthenticator;
import dev.fleetserver.core.auth.UserAgentCheck;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.model.EnrollmentKey;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code POST /api/fleet/agents/enroll}: checks the enrollment key, the User-Agent and the body in the original's
 * order, creates (or replaces) the agent document and issues its access API key.
 */
public final class EnrollService {
    private static final Set<String> TYPES = Set.of("PERMANENT", "EPHEMERAL", "TEMPORARY");

    private final AgentAuthenticator auth;
    private final ApiKeyAuthenticator keyCache;
    private final ApiKeys apiKeys;
    private final FleetRepository repo;
    private final UserAgentCheck userAgents;
    private final ReplaceTokenHasher replaceTokens;
    private final Clock clock;
    private final Executor worker;

    public EnrollService(AgentAuthenticator auth, ApiKeyAuthenticator keyCache, ApiKeys apiKeys, FleetRepository repo,
                         UserAgentCheck userAgents, ReplaceTokenHasher replaceTokens, Clock clock, Executor worker) {
        this.auth = auth;
        this.keyCache = keyCache;
        this.apiKeys = apiKeys;
        this.repo = repo;
        this.userAgents = userAgents;
        this.replaceTokens = replaceTokens;
        this.clock = clock;
        this.worker = worker;
    }

    /**
     * The checks of an enroll request that need only its headers, in the original's order: the enrollment key, the
     * User-Agent, the key's enrollment record. The body is read only once this succeeded.
     *
     * @return what {@link #enroll(Admitted, JsonNode)} needs
     */
    public CompletableFuture<Admitted> admit(List<String> authorization, String userAgent) {
        return auth.authenticateKey(authorization)
                .thenCompose(key -> {
                    String version = userAgents.check(userAgent);
                    return repo.activeEnrollmentKeysByApiKeyId(key.id()).thenApply(keys -> {
                        if (keys.isEmpty()) {
                            // Revoked, or not an enrollment key at all: the client's credential, not our fault.
                            throw new FleetException(FleetError.ENROLLMENT_KEY_NOT_ACTIVE);
                        }
                        if (keys.size() > 1) {
                            // Two active records for one key: the store is inconsistent, which is ours to fix.
                            throw new FleetException(FleetError.INTERNAL, "FindEnrollmentAPIKey: hit count mismatch " + keys.size());
                        }
                        return new Admitted(keys.get(0), version);
                    });
                });
    }

    /**
     * Enrolls an agent admitted by {@link #admit}.
     *
     * @param body the decoded JSON body; null or missing for an empty one
     * @return the JSON response body ({@code {"action":"created","item":{...}}})
     */
    public CompletableFuture<ObjectNode> enroll(Admitted admitted, JsonNode body) {
        Context ctx;
        try {
            ctx = new Context(admitted.key, admitted.version, parse(body));
        } catch (FleetException e) {
            return CompletableFuture.failedFuture(e);
        }
        // Replace-token hashing is deliberately slow (PBKDF2): keep it off I/O and event-loop threads.
        return CompletableFuture.supplyAsync(() -> enroll(ctx), worker).thenCompose(f -> f);
    }

    private CompletableFuture<ObjectNode> enroll(Context ctx) {
        EnrollRequest req = ctx.request;
        CompletableFuture<Optional<Agent>> existing = req.id.isEmpty()
                ? CompletableFuture.completedFuture(Optional.empty())
                : repo.agent(req.id);
        CompletableFuture<Void> enrollmentIdCleanup = req.enrollmentId.isEmpty()
                ? CompletableFuture.completedFuture(null)
                : removeNeverCheckedIn(req.enrollmentId);
        return enrollmentIdCleanup.thenCompose(v -> existing).thenComposeAsync(found -> {
            Agent old = found.orElse(null);
            if (old != null && !old.active()) {
                return repo.deleteAgent(old.id()).thenCompose(x -> createNew(ctx, req.id));
            }
            if (old != null) {
                return replace(ctx, old);
            }
            return createNew(ctx, req.id.isEmpty() ? UUID.randomUUID().toString() : req.id);
        }, worker);
    }

    /** A re-enrollment with the same enrollment id replaces an agent that never checked in (the original's ghost fix). */
    private CompletableFuture<Void> removeNeverCheckedIn(String enrollmentId) {
        return repo.agents(Query.where().term("enrollment_id", enrollmentId).size(10)).thenCompose(agents -> {
            CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
            for (Agent a : agents) {
                if (a.source().get("last_checkin") == null) {
                    String keyId = a.accessApiKeyId();
                    all = all.thenCompose(x -> keyId == null ? CompletableFuture.completedFuture(null) : apiKeys.invalidate(List.of(keyId)))
                            .thenCompose(x -> repo.deleteAgent(a.id()).thenApply(s -> null));
                }
            }
            return all;
        });
    }

    private CompletableFuture<ObjectNode> replace(Context ctx, Agent old) {
        EnrollRequest req = ctx.request;
        String stored = old.replaceToken();
        if (stored == null || stored.isEmpty() || req.replaceToken.isEmpty()
                || !replaceTokens.matches(req.replaceToken, stored)
                || !ctx.key.policyId().equals(old.policyId())) {
            throw new FleetException(FleetError.AGENT_NOT_REPLACEABLE);
        }
        String oldKeyId = old.accessApiKeyId();
        return createAccessKey(old.id()).thenCompose(key -> {
            String now = Times.millis(clock.instant());
            ObjectNode partial = Json.object();
            partial.set("namespaces", namespaces(ctx.key));
            partial.set("local_metadata", localMetadata(req.localMetadata, old.id()));
            partial.put("access_api_key_id", key.id());
            partial.set("agent", agentSection(old.id(), ctx.version));
            partial.set("tags", tags(req.tags));
            partial.put("policy_revision_idx", 0);
            partial.put("policy_base_id", policyBaseId(ctx.key.policyId()));
            for (String f : List.of("audit_unenrolled_time", "audit_unenrolled_reason", "unenrolled_at", "unenrolled_reason")) {
                partial.putNull(f);
            }
            partial.put("updated_at", now);
            return repo.updateAgent(old.id(), partial)
                    .thenCompose(seq -> oldKeyId == null ? CompletableFuture.completedFuture(null) : apiKeys.invalidate(List.of(oldKeyId)))
                    .thenApply(x -> {
                        if (oldKeyId != null) {
                            keyCache.forget(oldKeyId);
                        }
                        keyCache.remember(key);
                        // The document keeps the type it was enrolled with, and the answer says so (as the original).
                        String type = old.source().path("type").asText("");
                        return response(old.id(), key, ctx, old.source().path("enrolled_at").asText(now), partial,
                                type.isEmpty() ? req.type : type);
                    });
        });
    }

    private CompletableFuture<ObjectNode> createNew(Context ctx, String agentId) {
        EnrollRequest req = ctx.request;
        return createAccessKey(agentId).thenCompose(key -> {
            String enrolledAt = Times.seconds(clock.instant());
            ObjectNode doc = Json.object();
            doc.put("active", true);
            doc.put("policy_id", ctx.key.policyId());
            doc.put("policy_base_id", policyBaseId(ctx.key.policyId()));
            JsonNode ns = namespaces(ctx.key);
            if (!ns.isEmpty()) {
                doc.set("namespaces", ns);
            }
            doc.put("type", req.type);
            doc.put("enrolled_at", enrolledAt);
            doc.put("updated_at", Times.millis(clock.instant()));
            doc.set("local_metadata", localMetadata(req.localMetadata, agentId));
            doc.put("access_api_key_id", key.id());
            doc.set("action_seq_no", Json.array().add(-1));
            doc.set("agent", agentSection(agentId, ctx.version));
            doc.set("tags", tags(req.tags));
            if (!req.enrollmentId.isEmpty()) {
                doc.put("enrollment_id", req.enrollmentId);
            }
            if (!req.replaceToken.isEmpty()) {
                doc.put("replace_token", replaceTokens.hash(req.replaceToken));
            }
            return repo.createAgent(agentId, doc)
                    .exceptionallyCompose(t -> apiKeys.invalidate(List.of(key.id()))
                            .handle((x, y) -> null)
                            .thenCompose(x -> CompletableFuture.failedFuture(t)))
                    .thenApply(seq -> {
                        keyCache.remember(key);
                        return response(agentId, key, ctx, enrolledAt, doc, req.type);
                    });
        });
    }

    private CompletableFuture<ApiKey> createAccessKey(String agentId) {
        ObjectNode meta = Json.object();
        meta.put("agent_id", agentId);
        meta.put("managed", true);
        meta.put("managed_by", "fleet-server");
        meta.put("type", "access");
        return apiKeys.create(agentId, FleetRoles.access(), meta);
    }

    /** @param type the agent's type as stored ({@code PERMANENT}, the only one Elastic Agent asks for and accepts) */
    private ObjectNode response(String agentId, ApiKey key, Context ctx, String enrolledAt, ObjectNode doc, String type) {
        ObjectNode body = Json.object();
        body.put("action", "created");
        ObjectNode item = body.putObject("item");
        item.put("access_api_key", key.token());
        item.put("access_api_key_id", key.id());
        item.put("active", true);
        item.put("enrolled_at", enrolledAt);
        item.put("id", agentId);
        item.set("local_metadata", doc.get("local_metadata"));
        item.put("policy_id", ctx.key.policyId());
        item.put("status", "online");
        item.set("tags", doc.get("tags"));
        item.put("type", type);
        item.set("user_provided_metadata", NullNode.getInstance());
        return body;
    }

    private static JsonNode localMetadata(JsonNode local, String agentId) {
        if (local == null || local.isNull() || local.isMissingNode()) {
            return NullNode.getInstance();
        }
        JsonNode copy = local.deepCopy();
        JsonNode agent = copy.path("elastic").path("agent");
        if (agent instanceof ObjectNode o && o.has("id")) {
            o.put("id", agentId);
        }
        return copy;
    }

    private static ObjectNode agentSection(String id, String version) {
        ObjectNode agent = Json.object();
        agent.put("id", id);
        agent.put("version", version);
        return agent;
    }

    private static ArrayNode tags(List<String> tags) {
        ArrayNode out = Json.array();
        new TreeSet<>(tags).forEach(out::add);
        return out;
    }

    private static JsonNode namespaces(EnrollmentKey key) {
        JsonNode ns = key.namespaces();
        return ns != null && ns.isArray() ? ns : Json.array();
    }

    /** {@code policy_base_id}: the policy id without its {@code #<suffix>} (the original's rule). */
    public static String policyBaseId(String policyId) {
        int hash = policyId.lastIndexOf('#');
        return hash < 0 ? policyId : policyId.substring(0, hash);
    }

    private static EnrollRequest parse(JsonNode root) {
        if (root == null || root.isMissingNode()) {
            throw FleetException.badRequest("unable to decode enroll request: EOF");
        }
        if (!root.isObject()) {
            throw FleetException.badRequest("unable to decode enroll request: expected a JSON object");
        }
        String type = stringField(root, "type");
        if (type.isEmpty()) {
            throw FleetException.badRequest("enroll request type missing");
        }
        if (!TYPES.contains(type)) {
            throw FleetException.badRequest("unknown enroll request type");
        }
        JsonNode metadata = objectOrNull(root, "metadata", "metadata");
        List<String> tags = new java.util.ArrayList<>();
        JsonNode t = metadata == null ? null : metadata.get("tags");
        if (t != null && t.isArray()) {
            for (JsonNode tag : t) {
                if (!tag.isTextual()) {
                    throw FleetException.badRequest("unable to decode enroll request: metadata.tags must be strings");
                }
                tags.add(tag.textValue());
            }
        } else if (t != null && !t.isNull()) {
            throw FleetException.badRequest("unable to decode enroll request: metadata.tags must be an array");
        }
        JsonNode local = metadata == null ? null : objectOrNull(metadata, "local", "metadata.local");
        if (metadata != null) {
            // Not used, but an agent never sends anything else: another shape is a broken client.
            objectOrNull(metadata, "user_provided", "metadata.user_provided");
        }
        String id = DocumentIds.require("id", stringField(root, "id"));
        String enrollmentId = DocumentIds.require("enrollment_id", stringField(root, "enrollment_id"));
        return new EnrollRequest(type, id, stringField(root, "replace_token"), enrollmentId, local, tags);
    }

    /** The object at {@code name}, or null when absent or JSON null; anything else is a BadRequest naming {@code path}. */
    private static JsonNode objectOrNull(JsonNode parent, String name, String path) {
        JsonNode n = parent.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw FleetException.badRequest("unable to decode enroll request: " + path + " must be an object");
        }
        return n;
    }

    private static String stringField(JsonNode root, String name) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return "";
        }
        if (!n.isTextual()) {
            throw FleetException.badRequest("unable to decode enroll request: " + name + " must be a string");
        }
        return n.textValue();
    }

    private record EnrollRequest(String type, String id, String replaceToken, String enrollmentId,
                                 JsonNode localMetadata, List<String> tags) {
    }

    /** An enroll request whose headers checked out: its enrollment record and the agent's version. */
    public record Admitted(EnrollmentKey key, String version) {
    }

    private record Context(EnrollmentKey key, String version, EnrollRequest request) {
    }
}
