package dev.fleetserver.core.artifact;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.fleetserver.core.auth.AgentAuthenticator;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.policy.PolicyMonitor;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/fleet/artifacts/{id}/{sha256}}: the artifacts Elastic Defend downloads (exception lists, trusted
 * apps…), as the original serves them. The agent is found by its access key; the hash must be 64 hex digits; the
 * agent's policy ({@code policy_id}, else {@code agent_policy_id}), as this server has it prepared, must list the
 * artifact at that hash in an input's {@code artifact_manifest}; the artifact is the first {@code .fleet-artifacts}
 * document with that {@code identifier} and {@code decoded_sha256}, and its base64 {@code body} must hash to its
 * {@code encoded_sha256}.
 *
 * <p>Artifacts are cached, bounded by the bytes of their bodies, and concurrent requests for one that is not cached
 * share a single store read: when a new artifact lands, every Defend agent of the policy asks for it within
 * seconds, and they are all answered from that one read (the original answers all but the first 429 until its read
 * completes). The bytes are held once, in a read-only buffer every answer shares.
 */
public final class ArtifactService {
    private static final Logger LOG = LoggerFactory.getLogger(ArtifactService.class);

    private final AgentAuthenticator auth;
    private final PolicyMonitor policies;
    private final FleetRepository repo;
    private final AsyncCache<Key, Artifact> cache;
    private final LongAdder storeReads = new LongAdder();

    private record Key(String identifier, String sha256) {
    }

    public ArtifactService(AgentAuthenticator auth, PolicyMonitor policies, FleetRepository repo, ArtifactCacheSettings settings) {
        this.auth = auth;
        this.policies = policies;
        this.repo = repo;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(settings.maxBytes())
                .<Key, Artifact>weigher((k, a) -> a.size())
                .expireAfterWrite(settings.ttl())
                // Evictions run on the thread that caused them: the bound holds when the call returns.
                .executor(Runnable::run)
                .buildAsync();
    }

    /**
     * Authenticates the agent and gives it the artifact. Fails with AgentNotFound (no agent has the key), a
     * BadRequest {@code malformed sha256}, Forbidden (no policy, or the policy does not list the artifact), NotFound
     * (no such document), or an internal error when the stored body does not match its hash.
     */
    public CompletableFuture<Artifact> fetch(List<String> authorization, String identifier, String sha256) {
        return auth.authenticateAgentByKey(authorization).thenCompose(agent -> {
            if (!isSha256(sha256)) {
                throw new FleetException(FleetError.BAD_REQUEST, "malformed sha256");
            }
            return authorize(agent, identifier, sha256).thenCompose(v -> artifact(identifier, sha256));
        });
    }

    private CompletableFuture<Void> authorize(Agent agent, String identifier, String sha256) {
        // policy_id is set at enrollment by the server; agent_policy_id comes from what the agent reports, so it is
        // only the fallback for agents enrolled before policy_id was kept.
        String policyId = agent.policyId();
        if (policyId == null || policyId.isEmpty()) {
            policyId = agent.agentPolicyId();
        }
        if (policyId == null || policyId.isEmpty()) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.AGENT_POLICY_ID_MISSING));
        }
        String policy = policyId;
        return policies.latestOrLoad(policyId).thenAccept(p -> {
            if (p.isEmpty() || !p.get().listsArtifact(identifier, sha256)) {
                LOG.warn("agent {} (policy {}) is not entitled to artifact {} {}", agent.id(), policy, identifier, sha256);
                throw new FleetException(FleetError.ARTIFACT_FORBIDDEN);
            }
        });
    }

    /** The artifact from the cache, else from the one store read in flight for it, else from a new one. */
    CompletableFuture<Artifact> artifact(String identifier, String sha256) {
        return cache.get(new Key(identifier, sha256), (key, executor) -> load(key));
    }

    private CompletableFuture<Artifact> load(Key key) {
        storeReads.increment();
        return repo.artifacts(key.identifier(), key.sha256()).thenApply(docs -> {
            if (docs.isEmpty()) {
                throw new FleetException(FleetError.NOT_FOUND);
            }
            if (docs.size() > 1) {
                LOG.warn("several documents hold artifact {} {}; serving {}", key.identifier(), key.sha256(), docs.get(0).id());
            }
            return decode(docs.get(0), key);
        });
    }

    private static Artifact decode(Doc doc, Key key) {
        ObjectNode src = doc.source();
        String identifier = Json.text(src, "identifier");
        String decodedSha = Json.text(src, "decoded_sha256");
        if (!key.identifier().equals(identifier) || !key.sha256().equals(decodedSha)) {
            LOG.error("artifact document {} is not {} {}", doc.id(), key.identifier(), key.sha256());
            throw new FleetException(FleetError.INTERNAL, "artifact record mismatch");
        }
        String encodedSha = Json.text(src, "encoded_sha256");
        byte[] body;
        try {
            body = Base64.getDecoder().decode(Json.text(src, "body") == null ? "" : Json.text(src, "body"));
        } catch (IllegalArgumentException e) {
            LOG.error("artifact document {}: body is not base64: {}", doc.id(), e.getMessage());
            throw new FleetException(FleetError.INTERNAL, "illegal base64 data in artifact body");
        }
        if (encodedSha == null || !isSha256(encodedSha) || !HexFormat.of().formatHex(sha256(body)).equalsIgnoreCase(encodedSha)) {
            LOG.error("artifact document {}: body does not hash to encoded_sha256 {}; not served", doc.id(), encodedSha);
            throw new FleetException(FleetError.INTERNAL, "mismatched sha256");
        }
        ByteBuffer shared = ByteBuffer.allocateDirect(body.length).put(body).flip().asReadOnlyBuffer();
        return new Artifact(identifier, decodedSha, encodedSha, Json.text(src, "compression_algorithm"),
                Json.text(src, "encryption_algorithm"), shared);
    }

    /** Drops a cached artifact (it was replaced or deleted). */
    public void forget(String identifier, String sha256) {
        cache.synchronous().invalidate(new Key(identifier, sha256));
    }

    /** Store reads made for artifacts since start (one per artifact, however many agents asked at once). */
    public long storeReads() {
        return storeReads.sum();
    }

    /** Bytes of the artifact bodies cached now. */
    public long cachedBytes() {
        return cache.synchronous().policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
    }

    /** Whether {@code s} is 64 hexadecimal digits (either case, as the original accepts). */
    static boolean isSha256(String s) {
        if (s == null || s.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
                return false;
            }
        }
        return true;
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
