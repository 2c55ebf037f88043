package dev.fleetserver.es.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * High-volume writes (agents, action results) go to Elasticsearch without {@code refresh}, yet a search through the
 * store still sees every write it acknowledged before. The indices here are never refreshed by Elasticsearch's timer
 * ({@link UnrefreshedIndices}), so what a search finds and the refresh counts depend only on what the store does.
 */
class UnrefreshedWritesTest {
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
    private final String suffix = UUID.randomUUID().toString().substring(0, 8);
    /** Takes the high-volume path (see the store's predicate below). */
    private final String highVolume = UnrefreshedIndices.PREFIX + "hv-" + suffix;
    private final String priority = UnrefreshedIndices.PREFIX + "prio-" + suffix;
    private EsClient client;
    private EsDocumentStore store;

    @BeforeEach
    void open() {
        UnrefreshedIndices.installTemplate(cluster);
        client = UnrefreshedIndices.client(cluster);
        store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults(), index -> index.contains("-hv-"));
    }

    @AfterEach
    void close() {
        store.close();
        client.close();
    }

    @Test
    void highVolumeBulksDoNotRefreshTheIndexWhilePriorityBulksDo() throws Exception {
        await(store.create(highVolume, "first", doc("first")));
        await(store.create(priority, "first", doc("first")));
        long highVolumeBefore = refreshes(highVolume);
        long priorityBefore = refreshes(priority);

        for (int i = 0; i < 5; i++) {
            await(store.create(highVolume, "d" + i, doc("d" + i)));
            await(store.create(priority, "d" + i, doc("d" + i)));
        }

        assertThat(refreshes(highVolume) - highVolumeBefore).as("refreshes of the high-volume index").isZero();
        assertThat(refreshes(priority) - priorityBefore).as("refreshes of the priority index").isGreaterThanOrEqualTo(5);
        assertThat(await(store.get(highVolume, "d4"))).as("a get is realtime").isPresent();
    }

    @Test
    void aSearchRightAfterAHighVolumeWriteFindsItAtTheCostOfOneRefresh() throws Exception {
        await(store.create(highVolume, "a1", doc("one")));
        long before = refreshes(highVolume);

        assertThat(ids(highVolume, Query.where().term("name", "one"))).containsExactly("a1");
        assertThat(refreshes(highVolume) - before).isEqualTo(1);

        assertThat(await(store.count(highVolume, Query.where()))).isEqualTo(1);
        assertThat(refreshes(highVolume) - before).as("nothing written since: no second refresh").isEqualTo(1);

        await(store.update(highVolume, "a1", Json.object().put("name", "two")));
        assertThat(ids(highVolume, Query.where().term("name", "two"))).containsExactly("a1");
        assertThat(ids(highVolume, Query.where().term("name", "one"))).isEmpty();
        assertThat(refreshes(highVolume) - before).isEqualTo(2);
    }

    @Test
    void manySearchesIssuedAfterAWriteShareOneRefresh() throws Exception {
        await(store.create(highVolume, "a1", doc("one")));
        long before = refreshes(highVolume);

        List<CompletableFuture<List<Doc>>> searches = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            searches.add(store.search(highVolume, Query.where().term("name", "one")));
        }

        for (CompletableFuture<List<Doc>> search : searches) {
            assertThat(await(search)).extracting(Doc::id).containsExactly("a1");
        }
        assertThat(refreshes(highVolume) - before).isEqualTo(1);
    }

    @Test
    void theChangeFeedOfAHighVolumeIndexSeesEverythingUpToTheCheckpoint() throws Exception {
        long a = await(store.create(highVolume, "a", doc("a")));
        await(store.create(highVolume, "b", doc("b")));
        long checkpoint = await(store.checkpoint(highVolume));

        assertThat(await(store.changesAfter(highVolume, a - 1, checkpoint, 100))).extracting(Doc::id).containsExactly("a", "b");
    }

    /** The store as the server builds it: agents and action results on the unrefreshed path, found by searches. */
    @Test
    void anAgentAndAnActionResultWrittenThroughThePortAreFoundByTheNextSearch() throws Exception {
        EsDocumentStore server = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults());
        String indices = FleetIndex.AGENTS + "," + FleetIndex.ACTION_RESULTS;
        try {
            await(server.ensureFleetIndices());
            cluster.request("PUT", "/" + indices + "/_settings", "{\"index\": {\"refresh_interval\": \"-1\"}}");
            long agentsBefore = refreshes(FleetIndex.AGENTS);
            long resultsBefore = refreshes(FleetIndex.ACTION_RESULTS);

            String enrollment = "enrollment-" + suffix;
            String action = "action-" + suffix;
            await(server.create(FleetIndex.AGENTS, "agent-" + suffix, Json.object().put("enrollment_id", enrollment)));
            await(server.create(FleetIndex.ACTION_RESULTS, "result-" + suffix,
                    Json.object().put("action_id", action).put("agent_id", "agent-" + suffix)));
            assertThat(refreshes(FleetIndex.AGENTS)).as("the agent write did not refresh").isEqualTo(agentsBefore);
            assertThat(refreshes(FleetIndex.ACTION_RESULTS)).as("the result write did not refresh").isEqualTo(resultsBefore);

            assertThat(await(server.search(FleetIndex.AGENTS, Query.where().term("enrollment_id", enrollment))))
                    .extracting(Doc::id).containsExactly("agent-" + suffix);
            assertThat(await(server.search(FleetIndex.ACTION_RESULTS, Query.where().term("action_id", action))))
                    .extracting(Doc::id).containsExactly("result-" + suffix);
        } finally {
            server.close();
            cluster.request("PUT", "/" + indices + "/_settings", "{\"index\": {\"refresh_interval\": null}}");
        }
    }

    private long refreshes(String index) {
        return UnrefreshedIndices.searchRefreshes(cluster, index);
    }

    private List<String> ids(String index, Query query) throws Exception {
        return await(store.search(index, query)).stream().map(Doc::id).toList();
    }

    private static ObjectNode doc(String name) {
        return Json.object().put("name", name);
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(30, TimeUnit.SECONDS);
    }
}
