package dev.fleetserver.es.client;

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
 * <p>Pacing ({@code pace} above zero): while items arrive at {@value #BUSY_PER_SECOND} a second or more, a batch is
 * sent at most once per {@code pace} (unless it is full), so that a steady flow — one agent read per checkin, tens a
 * second — costs one request per {@code pace} instead of one per item. Below that rate an item goes at once: a lone
 * caller, or one waiting on its previous read, never waits for the pace.
 *
 * <p>Items added together ({@link #addAll}) travel in one batch, in the order given: Elasticsearch applies a
 * {@code _bulk} in order per shard, so a caller's create-then-update of one document is never split across two
 * concurrent requests. Only a group larger than {@code maxItems} is sent alone, over the limit.
 *
 * @param <I> an item: one operation and what it will complete
 */
public final class Batcher<I extends Batcher.Item> {
    /** Items a second from which batches are paced. */
    public static final int BUSY_PER_SECOND = 20;

    /** One queued operation. */
    public interface Item {
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
    private final long paceNanos;
    /** Items added in the current second and in the one before it; when the current second began. */
    private int itemsThisSecond;
    private int itemsLastSecond;
    private long secondStartNanos = System.nanoTime();
    /** When the last batch was sent; meaningful once {@link #sentOnce}. */
    private long lastSentNanos;
    private boolean sentOnce;
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
    public Batcher(String name, Function<List<I>, CompletableFuture<Void>> flush, ScheduledExecutorService timer,
            Duration interval, int maxItems, long maxBytes, int maxInFlight) {
        this(name, flush, timer, interval, maxItems, maxBytes, maxInFlight, Duration.ZERO);
    }

    /** @param pace the least time between two batches while items arrive fast (see the class comment); zero for none */
    public Batcher(String name, Function<List<I>, CompletableFuture<Void>> flush, ScheduledExecutorService timer,
            Duration interval, int maxItems, long maxBytes, int maxInFlight, Duration pace) {
        this.paceNanos = pace.toNanos();
        this.name = name;
        this.flush = flush;
        this.timer = timer;
        this.interval = interval;
        this.maxItems = maxItems;
        this.maxBytes = maxBytes;
        this.maxInFlight = maxInFlight;
    }

    public void add(I item) {
        addAll(List.of(item));
    }

    /** Queues {@code items} as one group: they are sent in one batch, in this order. */
    public void addAll(List<I> items) {
        if (items.isEmpty()) {
            return;
        }
        List<I> batch;
        synchronized (this) {
            queue.add(items);
            count(items.size());
            queuedItems += items.size();
            for (I item : items) {
                queuedBytes += item.size();
            }
            batch = takeIfReady(false);
        }
        send(batch);
    }

    /** The rate at which items arrive, in whole seconds. Under the lock. */
    private void count(int items) {
        long now = System.nanoTime();
        long elapsed = now - secondStartNanos;
        if (elapsed >= 1_000_000_000L) {
            itemsLastSecond = elapsed >= 2_000_000_000L ? 0 : itemsThisSecond;
            itemsThisSecond = 0;
            secondStartNanos = now;
        }
        itemsThisSecond += items;
    }

    private boolean busy() {
        return Math.max(itemsThisSecond, itemsLastSecond) >= BUSY_PER_SECOND;
    }

    /** Under the lock: the batch to send now, or null. */
    private List<I> takeIfReady(boolean timerFired) {
        if (queue.isEmpty() || inFlight >= maxInFlight) {
            return null;
        }
        boolean full = queuedItems >= maxItems || queuedBytes >= maxBytes;
        if (!full && paceNanos > 0 && sentOnce && busy()) {
            long wait = lastSentNanos + paceNanos - System.nanoTime();
            if (wait > 0) {
                if (!timerArmed) {
                    timerArmed = true;
                    timer.schedule(this::timerFired, wait, TimeUnit.NANOSECONDS);
                }
                return null;
            }
        }
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
        lastSentNanos = System.nanoTime();
        sentOnce = true;
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
