package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@link StoreView} of the embedded store, read through core's own {@link SqliteDocumentStore} from the data dir of
 * a server that is no longer running (opening it recovers its write-ahead log as the server's next start would).
 */
final class EmbeddedStoreView implements StoreView, AutoCloseable {
    private final SqliteDocumentStore store;

    EmbeddedStoreView(Path dataDir) {
        this.store = SqliteDocumentStore.open(dataDir);
    }

    @Override
    public Map<String, LostWrites.AgentDoc> agents(Collection<String> ids) throws Exception {
        Map<String, LostWrites.AgentDoc> out = new HashMap<>();
        for (String id : ids) {
            Optional<Doc> d = store.get(FleetIndex.AGENTS, id).get(30, TimeUnit.SECONDS);
            if (d.isPresent()) {
                JsonNode s = d.get().source();
                out.put(id, new LostWrites.AgentDoc(s.path("policy_id").asText(""), s.path("policy_revision_idx").asLong(0)));
            }
        }
        return out;
    }

    @Override
    public Set<String> actionResults(Collection<String> wanted) throws Exception {
        Set<String> out = new HashSet<>();
        for (String id : wanted) {
            if (store.get(FleetIndex.ACTION_RESULTS, id).get(30, TimeUnit.SECONDS).isPresent()) {
                out.add(id);
            }
        }
        return out;
    }

    @Override
    public void close() {
        store.close();
    }
}
