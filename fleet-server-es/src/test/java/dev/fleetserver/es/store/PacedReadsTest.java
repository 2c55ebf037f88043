package dev.fleetserver.es.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.Batcher;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.es.testing.EsTestSupport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Paced reads ({@code getPaced}, the agent read of every agent request) share {@code _mget}s while they arrive fast;
 * ordinary reads are never held behind them, so a chain of dependent reads pays no pace even while a busy fleet is
 * being read. The pace here is a minute, far beyond the test, so "held" is a state to observe, not a time to
 * measure; requests are counted at the client, as Elasticsearch receives them.
 */
class PacedReadsTest {
    private static final int BATCH = 64;
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
    private final String index = ".fleet-actions-paced-" + UUID.randomUUID().toString().substring(0, 8);
    private final AtomicInteger mgets = new AtomicInteger();
    private EsClient client;
    private EsDocumentStore store;

    @BeforeEach
    void open() throws Exception {
        client = EsTestSupport.countingClient(cluster, "_mget", mgets);
        try (EsDocumentStore writer = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults())) {
            writer.create(index, "agent", Json.object().put("name", "a")).get(30, TimeUnit.SECONDS);
        }
        // Opened last: its rate window starts now, so the test's reads fall in its first second, not across two.
        EsDocumentStore.BulkSettings defaults = EsDocumentStore.BulkSettings.defaults();
        store = new EsDocumentStore(client, new EsDocumentStore.BulkSettings(defaults.flushInterval(), BATCH,
                defaults.maxBytes(), defaults.maxInFlight(), Duration.ofMinutes(1)));
    }

    @AfterEach
    void close() {
        store.close();
        client.close();
    }

    @Test
    void pacedReadsArrivingFastWaitToShareOneRequestWhileAnOrdinaryReadGoesAtOnce() throws Exception {
        int base = mgets.get();
        // One after the other, just short of the busy rate: each goes at once, alone.
        for (int i = 0; i < Batcher.BUSY_PER_SECOND - 1; i++) {
            assertThat(store.getPaced(index, "agent").get(30, TimeUnit.SECONDS)).isPresent();
        }
        // The next one in the same second makes the flow fast: from it on, paced reads wait for the pace.
        List<CompletableFuture<Optional<Doc>>> held = pacedReads(10);
        assertThat(store.get(index, "agent").get(30, TimeUnit.SECONDS)).as("an ordinary read, meanwhile").isPresent();
        assertThat(held).as("paced reads wait for the pace").noneMatch(CompletableFuture::isDone);

        held.addAll(pacedReads(BATCH - held.size()));
        awaitAll(held);
        int expected = Batcher.BUSY_PER_SECOND - 1 + 2;
        // A request is counted when its answer is handled, just after the reads it carried complete.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (mgets.get() - base < expected && System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        assertThat(mgets.get() - base).as("one _mget per read before the flow was fast, the ordinary read's, and one "
                + "full batch of the paced reads").isEqualTo(expected);
    }

    private List<CompletableFuture<Optional<Doc>>> pacedReads(int n) {
        List<CompletableFuture<Optional<Doc>>> reads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            reads.add(store.getPaced(index, "agent"));
        }
        return reads;
    }

    private static void awaitAll(List<CompletableFuture<Optional<Doc>>> reads) throws Exception {
        for (CompletableFuture<Optional<Doc>> read : reads) {
            assertThat(read.get(30, TimeUnit.SECONDS)).isPresent();
        }
    }
}
