package dev.fleetserver.core.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.model.FleetRepository;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The original's {@code agentApiKey} scheme: a valid API key that is the access key of the agent named in the path,
 * and that agent active.
 */
public final class AgentAuthenticator {
    /** Bound on remembered key-to-agent pairs; a forgotten pair costs one search. */
    private static final int KEY_OWNERS = 200_000;

    private final ApiKeyAuthenticator keys;
    private final FleetRepository repo;
    /**
     * Which agent an access key belongs to, so that requests that name no agent (artifacts, file delivery) read the
     * agent by id instead of searching for the key each time: a search scans on the embedded store, and thousands
     * of agents ask at once when a new artifact lands. Every hit is checked against the document read.
     */
    private final Cache<String, String> keyOwners = Caffeine.newBuilder().maximumSize(KEY_OWNERS).build();

    public AgentAuthenticator(ApiKeyAuthenticator keys, FleetRepository repo) {
        this.keys = keys;
        this.repo = repo;
    }

    /** Parses the header and authenticates the key alone (the {@code apiKey} scheme). */
    public CompletableFuture<ApiKey> authenticateKey(List<String> authorization) {
        ApiKey key;
        try {
            key = AuthHeader.parse(authorization);
        } catch (FleetException e) {
            return CompletableFuture.failedFuture(e);
        }
        return keys.authenticate(key).thenApply(v -> key);
    }

    /**
     * Authenticates and loads the agent. Fails with ErrAgentIdentity when the agent is missing or the key is not its
     * access key, ErrAgentCorrupted when the document lacks {@code agent}, ErrAgentInactive when unenrolled. A path
     * id that cannot be a document id is a BadRequest, found out after the key (an unauthenticated client learns
     * nothing) and before the store is asked.
     */
    public CompletableFuture<Agent> authenticateAgent(List<String> authorization, String agentId) {
        return authenticateKey(authorization).thenCompose(key -> {
            DocumentIds.require("agent id in the path", agentId);
            return repo.agentPaced(agentId).thenApply(found -> {
                Agent agent = verified(key, found);
                // Agents check in long before they ask for an artifact: by then their key is known.
                if (!agent.id().equals(keyOwners.getIfPresent(key.id()))) {
                    keyOwners.put(key.id(), agent.id());
                }
                return agent;
            });
        });
    }

    /**
     * The original's {@code authAgent} without an agent id: authenticates the key and loads the agent whose access
     * key it is. Fails with AgentNotFound when no agent has that access key, ErrAgentCorrupted when the document
     * lacks {@code agent}, ErrAgentInactive when unenrolled.
     */
    public CompletableFuture<Agent> authenticateAgentByKey(List<String> authorization) {
        return authenticateKey(authorization).thenCompose(key -> {
            String owner = keyOwners.getIfPresent(key.id());
            CompletableFuture<Optional<Agent>> found = owner == null ? searchByKey(key)
                    : repo.agent(owner).thenCompose(a -> a.isPresent() && key.id().equals(a.get().accessApiKeyId())
                            ? CompletableFuture.completedFuture(a) : searchByKey(key));
            return found.thenApply(a -> {
                Agent agent = a.orElseThrow(() -> new FleetException(FleetError.AGENT_NOT_FOUND));
                return verified(key, Optional.of(agent));
            });
        });
    }

    private CompletableFuture<Optional<Agent>> searchByKey(ApiKey key) {
        keyOwners.invalidate(key.id());
        return repo.agentsByAccessKeyId(key.id()).thenApply(agents -> {
            if (agents.isEmpty()) {
                return Optional.empty();
            }
            Agent agent = agents.get(0);
            keyOwners.put(key.id(), agent.id());
            return Optional.of(agent);
        });
    }

    private Agent verified(ApiKey key, Optional<Agent> found) {
        Agent agent = found.orElseThrow(() -> new FleetException(FleetError.AGENT_IDENTITY));
        if (!key.id().equals(agent.accessApiKeyId())) {
            throw new FleetException(FleetError.AGENT_IDENTITY);
        }
        if (!agent.hasAgentSection()) {
            throw new FleetException(FleetError.AGENT_CORRUPTED);
        }
        if (!agent.active()) {
            keys.forget(key.id());
            throw new FleetException(FleetError.AGENT_INACTIVE);
        }
        return agent;
    }
}
