package dev.fleetserver.core.auth;

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
    private final ApiKeyAuthenticator keys;
    private final FleetRepository repo;

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
            return repo.agent(agentId).thenApply(found -> verified(key, found));
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
