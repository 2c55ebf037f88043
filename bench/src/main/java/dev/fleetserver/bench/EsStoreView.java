package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@link StoreView} of the Elasticsearch back end: the {@code .fleet-*} indices, refreshed first, read whole. */
final class EsStoreView implements StoreView {
    private final EsCluster es;

    EsStoreView(EsCluster es) {
        this.es = es;
    }

    @Override
    public Map<String, LostWrites.AgentDoc> agents(Collection<String> ids) throws Exception {
        es.refresh(".fleet-agents");
        Map<String, LostWrites.AgentDoc> out = new HashMap<>();
        for (JsonNode hit : es.searchAll(".fleet-agents", "{\"match_all\":{}}", List.of("policy_id", "policy_revision_idx"))) {
            JsonNode s = hit.path("_source");
            out.put(hit.path("_id").asText(), new LostWrites.AgentDoc(s.path("policy_id").asText(""),
                    s.path("policy_revision_idx").asLong(0)));
        }
        return out;
    }

    @Override
    public Set<String> actionResults(Collection<String> wanted) throws Exception {
        es.refresh(".fleet-actions-results");
        Set<String> out = new HashSet<>();
        for (JsonNode hit : es.searchAll(".fleet-actions-results", "{\"match_all\":{}}", List.of("action_id", "agent_id"))) {
            JsonNode s = hit.path("_source");
            out.add(s.path("action_id").asText() + ":" + s.path("agent_id").asText());
        }
        return out;
    }
}
