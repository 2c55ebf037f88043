package dev.fleetserver.netty.limit;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The memory that request bodies may hold at once, across every connection of the process: bytes received and not
 * yet consumed, and what a body already consumed holds (its decoded JSON, estimated by {@code JsonBody}). Per-route
 * body limits bound one request; this bounds their sum, so that many clients each sending a body just under its
 * limit (or pipelining requests they never read the answers of) cannot together exhaust the heap. A request that
 * would go over it is refused with 429 and {@code Retry-After}; what it held is given back.
 *
 * <p>Lock-free; shared by all event loops. Charges are made and returned by their owner, which must return
 * exactly what it took.
 */
public final class BodyBudget {
    /** The process's budget, {@link #fromHeap()}: what every listener shares unless told otherwise. */
    public static final BodyBudget PROCESS = fromHeap();

    /** Unlimited: for tests and tools that must never refuse. */
    public static final BodyBudget UNLIMITED = new BodyBudget(Long.MAX_VALUE);

    /** The share of the maximum heap that request bodies may hold together. */
    static final int HEAP_DIVISOR = 4;
    /** A floor, so that a small heap still takes one large body (a 20 MiB checkin and its JSON). */
    static final long MINIMUM = 64L * 1024 * 1024;

    private final long capacity;
    private final AtomicLong held = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    private final LongAdder refusals = new LongAdder();

    public BodyBudget(long capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
    }

    /** A quarter of the JVM's maximum heap ({@code -Xmx}), at least {@value #MINIMUM} bytes. */
    public static BodyBudget fromHeap() {
        return new BodyBudget(Math.max(MINIMUM, Runtime.getRuntime().maxMemory() / HEAP_DIVISOR));
    }

    /**
     * Takes {@code bytes} when they fit.
     *
     * @return true when taken; the caller then owes a {@link #release} of the same amount
     */
    public boolean tryAcquire(long bytes) {
        if (bytes <= 0) {
            return true;
        }
        while (true) {
            long now = held.get();
            long next = now + bytes;
            if (next > capacity || next < 0) {
                refusals.increment();
                return false;
            }
            if (held.compareAndSet(now, next)) {
                peak.accumulateAndGet(next, Math::max);
                return true;
            }
        }
    }

    public void release(long bytes) {
        if (bytes > 0) {
            held.addAndGet(-bytes);
        }
    }

    /** Bytes held now. */
    public long held() {
        return held.get();
    }

    /** The most bytes held at once since start or the last {@link #resetPeak()}. */
    public long peak() {
        return peak.get();
    }

    /** Starts a new {@link #peak()} from what is held now. */
    public void resetPeak() {
        peak.set(held.get());
    }

    public long capacity() {
        return capacity;
    }

    /** Charges refused since start. */
    public long refusals() {
        return refusals.sum();
    }
}
