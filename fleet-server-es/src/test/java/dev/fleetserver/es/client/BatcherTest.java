package dev.fleetserver.es.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Batching rules: flush when a slot is free and the batch is due, never more than the in-flight bound. */
class BatcherTest {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final List<List<Item>> sent = new CopyOnWriteArrayList<>();
    private final List<CompletableFuture<Void>> pending = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        timer.shutdownNow();
    }

    private record Item(int n, int size) implements Batcher.Item {
        @Override
        public void fail(Throwable t) {
        }
    }

    private Batcher<Item> batcher(Duration interval, int maxItems, long maxBytes, int maxInFlight) {
        return new Batcher<>("test", batch -> {
            sent.add(new ArrayList<>(batch));
            CompletableFuture<Void> done = new CompletableFuture<>();
            pending.add(done);
            return done;
        }, timer, interval, maxItems, maxBytes, maxInFlight);
    }

    @Test
    void withoutATimerAnItemGoesAtOnceWhenASlotIsFreeAndQueuesBehindBusySlots() {
        Batcher<Item> b = batcher(Duration.ZERO, 100, 1 << 20, 1);
        b.add(new Item(1, 10));
        assertThat(sent).hasSize(1);
        b.add(new Item(2, 10));
        b.add(new Item(3, 10));
        assertThat(sent).as("the only slot is busy").hasSize(1);

        pending.get(0).complete(null);
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1)).extracting(Item::n).containsExactly(2, 3);
    }

    @Test
    void aBatchNeverExceedsTheItemCountAndTheRestFollows() {
        Batcher<Item> b = batcher(Duration.ZERO, 2, 1 << 20, 1);
        b.add(new Item(0, 1));
        for (int i = 1; i <= 5; i++) {
            b.add(new Item(i, 1));
        }
        pending.get(0).complete(null);
        pending.get(1).complete(null);
        pending.get(2).complete(null);
        assertThat(sent).extracting(List::size).containsExactly(1, 2, 2, 1);
    }

    @Test
    void itemsAddedTogetherTravelInOneBatchInTheirOrderEvenWithFreeSlots() {
        Batcher<Item> b = batcher(Duration.ZERO, 100, 1 << 20, 8);
        b.addAll(List.of(new Item(1, 1), new Item(2, 1), new Item(3, 1)));

        assertThat(sent).hasSize(1);
        assertThat(sent.get(0)).extracting(Item::n).containsExactly(1, 2, 3);
    }

    @Test
    void aGroupIsNeverSplitAcrossBatchesAndAnOversizedGroupGoesAlone() {
        Batcher<Item> b = batcher(Duration.ZERO, 3, 1 << 20, 1);
        b.add(new Item(0, 1));
        b.addAll(List.of(new Item(1, 1), new Item(2, 1)));
        b.addAll(List.of(new Item(3, 1), new Item(4, 1)));
        b.addAll(List.of(new Item(5, 1), new Item(6, 1), new Item(7, 1), new Item(8, 1)));

        pending.get(0).complete(null);
        pending.get(1).complete(null);
        pending.get(2).complete(null);
        assertThat(sent).extracting(batch -> batch.stream().map(Item::n).toList())
            .containsExactly(List.of(0), List.of(1, 2), List.of(3, 4), List.of(5, 6, 7, 8));
    }

    @Test
    void withATimerItemsWaitForItUnlessTheBatchIsFull() throws Exception {
        Batcher<Item> b = batcher(Duration.ofMillis(200), 3, 1 << 20, 4);
        b.add(new Item(1, 1));
        b.add(new Item(2, 1));
        assertThat(sent).isEmpty();
        b.add(new Item(3, 1));
        assertThat(sent).as("full: sent without waiting").hasSize(1);

        b.add(new Item(4, 1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (sent.size() < 2 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1)).extracting(Item::n).containsExactly(4);
    }

    @Test
    void theByteThresholdAlsoFillsABatch() {
        Batcher<Item> b = batcher(Duration.ofHours(1), 1000, 100, 4);
        b.add(new Item(1, 60));
        assertThat(sent).isEmpty();
        b.add(new Item(2, 60));
        assertThat(sent).hasSize(1);
    }

    @Test
    void aFastSteadyFlowIsSentOncePerPaceWhileSlowCallersGoAtOnce() throws Exception {
        int total = Batcher.BUSY_PER_SECOND - 1 + 30;
        java.util.concurrent.CountDownLatch allSent = new java.util.concurrent.CountDownLatch(total);
        Batcher<Item> b = new Batcher<>("test", batch -> {
            sent.add(new ArrayList<>(batch));
            batch.forEach(i -> allSent.countDown());
            return CompletableFuture.completedFuture(null);
        }, timer, Duration.ZERO, 1000, 1 << 20, 8, Duration.ofMillis(300));
        for (int i = 0; i < Batcher.BUSY_PER_SECOND - 1; i++) {
            b.add(new Item(i, 1));
        }
        assertThat(sent).as("below the busy rate every item goes at once").hasSize(Batcher.BUSY_PER_SECOND - 1);

        for (int i = 100; i < 130; i++) {
            b.add(new Item(i, 1));
        }
        assertThat(sent.size()).as("from the busy rate on, items wait for the pace").isLessThan(Batcher.BUSY_PER_SECOND + 2);
        assertThat(allSent.await(5, TimeUnit.SECONDS)).as("all sent once the pace has passed").isTrue();
        assertThat(sent.stream().mapToInt(List::size).sum()).isEqualTo(total);
        assertThat(sent.get(sent.size() - 1)).as("the waiting items went in one request").hasSizeGreaterThan(25);
    }

    @Test
    void aFullBatchDoesNotWaitForThePace() {
        Batcher<Item> b = new Batcher<>("test", batch -> {
            sent.add(new ArrayList<>(batch));
            return CompletableFuture.completedFuture(null);
        }, timer, Duration.ZERO, 10, 1 << 20, 8, Duration.ofHours(1));
        for (int i = 0; i < Batcher.BUSY_PER_SECOND; i++) {
            b.add(new Item(i, 1));
        }
        int before = sent.size();
        for (int i = 0; i < 10; i++) {
            b.add(new Item(100 + i, 1));
        }
        assertThat(sent).hasSize(before + 1);
        assertThat(sent.get(before)).hasSize(10);
    }
}
