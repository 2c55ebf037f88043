package dev.fleetserver.es;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Turns many single operations into few requests ({@code _bulk}, {@code _mget}, {@code _msearch}). A batch is sent
 * when a flush slot is free and either {@code interval} has passed since its first item or it reached
 * {@code maxItems}/{@code maxBytes}; at most {@code maxInFlight} batches are in flight, and items queue behind them,
 * so batches grow exactly when Elasticsearch is busy. Each item's future completes with its own result.
 *
 * <p>Items added together ({@link #addAll}) travel in one batch, in the order given: Elasticsearch applies a
 * {@code _bulk} in order per shard, so a caller's create-then-update of one document is never split across two
 * concurrent requests. Only a group larger than {@code maxItems} is sent alone, over the limit.
 *
 * @param <I> an item: one operation and what it will complete
 */
final class Batcher<I extends Batcher.Item> {

    /** One queued operation. */
    interface Item {
        /** Approximate encoded size, for the byte threshold. */
        int size();

        /** Fails this item's future. */
        void fail(Throwable t);
    }

    private final String name;
    private final Function<List<I>, CompletableFuture<Void>> flush;
    private final ScheduledExecutorService timer;
    private final Duration interval;
    private final int maxItems;
    private final long maxBytes;
    private final int maxInFlight;
    /** Groups of items added together, oldest first; a group is never split. */
    private List<List<I>> queue = new ArrayList<>();
    private int queuedItems;
    private long queuedBytes;
    private int inFlight;
    private boolean timerArmed;

    /**
     * @param flush sends one batch and completes every item in it (successfully or not); its future completes when
     *              the request is done, freeing the slot
     */
    Batcher(String name, Function<List<I>, CompletableFuture<Void>> flush, ScheduledExecutorService timer,
            Duration interval, int maxItems, long maxBytes, int maxInFlight) {
        this.name = name;
        this.flush = flush;
        this.timer = timer;
        this.interval = interval;
        this.maxItems = maxItems;
        this.maxBytes = maxBytes;
        this.maxInFlight = maxInFlight;
    }

    void add(I item) {
        addAll(List.of(item));
    }

    /** Queues {@code items} as one group: they are sent in one batch, in this order. */
    void addAll(List<I> items) {
        if (items.isEmpty()) {
            return;
        }
        List<I> batch;
        synchronized (this) {
            queue.add(items);
            queuedItems += items.size();
            for (I item : items) {
                queuedBytes += item.size();
            }
            batch = takeIfReady(false);
        }
        send(batch);
    }

    /** Under the lock: the batch to send now, or null. */
    private List<I> takeIfReady(boolean timerFired) {
        if (queue.isEmpty() || inFlight >= maxInFlight) {
            return null;
        }
        boolean full = queuedItems >= maxItems || queuedBytes >= maxBytes;
        if (!full && !interval.isZero() && !timerFired) {
            if (!timerArmed) {
                timerArmed = true;
                timer.schedule(this::timerFired, interval.toNanos(), TimeUnit.NANOSECONDS);
            }
            return null;
        }
        List<I> batch = new ArrayList<>(Math.min(queuedItems, maxItems));
        int groups = 0;
        while (groups < queue.size() && (batch.isEmpty() || batch.size() + queue.get(groups).size() <= maxItems)) {
            List<I> group = queue.get(groups++);
            batch.addAll(group);
            queuedItems -= group.size();
            for (I item : group) {
                queuedBytes -= item.size();
            }
        }
        queue = groups == queue.size() ? new ArrayList<>() : new ArrayList<>(queue.subList(groups, queue.size()));
        inFlight++;
        return batch;
    }

    private void timerFired() {
        List<I> batch;
        synchronized (this) {
            timerArmed = false;
            batch = takeIfReady(true);
        }
        send(batch);
    }

    private void send(List<I> batch) {
        if (batch == null) {
            return;
        }
        CompletableFuture<Void> done;
        try {
            done = flush.apply(batch);
        } catch (RuntimeException e) {
            batch.forEach(i -> i.fail(e));
            done = CompletableFuture.completedFuture(null);
        }
        done.whenComplete((v, t) -> {
            if (t != null) {
                batch.forEach(i -> i.fail(t));
            }
            List<I> nextBatch;
            synchronized (this) {
                inFlight--;
                // What queued while we were busy goes now: waiting longer would only add latency.
                nextBatch = takeIfReady(true);
            }
            send(nextBatch);
        });
    }

    @Override
    public String toString() {
        return "Batcher[" + name + "]";
    }
}
