package dev.fleetserver.core.manage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.FleetRoles;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.EnrollmentKey;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.util.Json;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Enrollment keys through the management API, in Kibana's shapes: each an API key (made through {@link ApiKeys})
 * and its {@code .fleet-enrollment-api-keys} document, which carries the token agents enroll with.
 */
public final class EnrollmentKeyAdminService {
    private final FleetRepository repo;
    private final ApiKeys apiKeys;
    private final Clock clock;

    public EnrollmentKeyAdminService(FleetRepository repo, ApiKeys apiKeys, Clock clock) {
        this.repo = repo;
        this.apiKeys = apiKeys;
        this.clock = clock;
    }

    /** Creates an active enrollment key for an existing policy; the item carries the token ({@code api_key}). */
    public CompletableFuture<ObjectNode> createEnrollmentKey(JsonNode body) {
        ObjectNode b = Bodies.object(body);
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
                ObjectNode doc = EnrollmentKey.newSource(key.id(), key.token(), name, policyId, clock.instant());
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

    /** Enrollment keys, newest first; the token is included, as Kibana shows it. */
    public CompletableFuture<ObjectNode> listEnrollmentKeys(int page, int perPage) {
        return repo.enrollmentKeysNewestFirst()
                .thenApply(keys -> Pages.page(keys, page, perPage, k -> enrollmentKeyItem(k.id(), k.doc().source())));
    }

    /** Revokes an enrollment key: unusable at once (the document goes inactive, the API key is invalidated). */
    public CompletableFuture<ObjectNode> revokeEnrollmentKey(String id) {
        return repo.enrollmentKey(id).thenCompose(found -> {
            EnrollmentKey key = found.orElseThrow(() -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "Enrollment key " + id + " not found"));
            ObjectNode partial = EnrollmentKey.deactivation(clock.instant());
            String keyId = key.apiKeyId();
            return repo.updateEnrollmentKey(id, partial)
                    .thenCompose(seq -> keyId == null ? CompletableFuture.completedFuture(null) : apiKeys.invalidate(List.of(keyId)))
                    .thenApply(v -> Json.object().put("action", "deleted"));
        });
    }

}
