package dev.fleetserver.core.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.auth.ApiKeyAuthenticator;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Ending an agent's membership: every API key it holds is invalidated and the document marked inactive, so its next
 * request is refused (401) whatever any cache says.
 */
public final class AgentKeyRevoker {
    private final FleetRepository repo;
    private final ApiKeys apiKeys;
    private final ApiKeyAuthenticator keyCache;
    private final OutputKeys outputKeys;
    private final Clock clock;

    public AgentKeyRevoker(FleetRepository repo, ApiKeys apiKeys, ApiKeyAuthenticator keyCache, Clock clock) {
        this(repo, apiKeys, keyCache, OutputKeys.none(), clock);
    }

    /** @param outputKeys reaches the remote clusters that issued keys of {@code remote_elasticsearch} outputs */
    public AgentKeyRevoker(FleetRepository repo, ApiKeys apiKeys, ApiKeyAuthenticator keyCache, OutputKeys outputKeys, Clock clock) {
        this.repo = repo;
        this.apiKeys = apiKeys;
        this.keyCache = keyCache;
        this.outputKeys = outputKeys;
        this.clock = clock;
    }

    /** Every key id of the agent: access key, each output's current and retired keys, the legacy default key. */
    public static List<String> keyIds(Agent agent) {
        Set<String> ids = new LinkedHashSet<>();
        add(ids, agent.source().get("access_api_key_id"));
        add(ids, agent.source().get("default_api_key_id"));
        JsonNode outputs = agent.source().get("outputs");
        if (outputs != null && outputs.isObject()) {
            for (JsonNode out : outputs) {
                add(ids, out.get("api_key_id"));
                for (JsonNode retired : out.path("to_retire_api_key_ids")) {
                    add(ids, retired.get("id"));
                }
            }
        }
        return new ArrayList<>(ids);
    }

    /** Keys of remote outputs live in their remote cluster: invalidated there too. */
    private CompletableFuture<Void> invalidateRemote(Agent agent) {
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        agent.source().path("outputs").fields().forEachRemaining(e -> {
            if (!"remote_elasticsearch".equals(e.getValue().path("type").asText())) {
                return;
            }
            Set<String> ids = new LinkedHashSet<>();
            add(ids, e.getValue().get("api_key_id"));
            e.getValue().path("to_retire_api_key_ids").forEach(r -> add(ids, r.get("id")));
            if (!ids.isEmpty()) {
                outputKeys.forRetired(e.getKey()).ifPresent(k -> calls.add(k.invalidate(ids)));
            }
        });
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
    }

    private static void add(Set<String> ids, JsonNode id) {
        if (id != null && id.isTextual() && !id.textValue().isEmpty()) {
            ids.add(id.textValue());
        }
    }

    /** Invalidates the agent's keys, then marks it inactive with {@code unenrolled_at}. */
    public CompletableFuture<Void> unenroll(Agent agent) {
        List<String> ids = keyIds(agent);
        ids.forEach(keyCache::forget);
        return apiKeys.invalidate(ids).thenCompose(v -> invalidateRemote(agent)).thenCompose(v -> {
            String now = Times.millis(clock.instant());
            ObjectNode partial = Json.object();
            partial.put("active", false);
            partial.put("unenrolled_at", now);
            partial.put("updated_at", now);
            return repo.updateAgent(agent.id(), partial);
        }).thenApply(seq -> null);
    }
}
