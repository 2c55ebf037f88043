package dev.fleetserver.netty.limit;

import io.netty.channel.Channel;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The TCP connection cap of one listener (1.1 times {@code max_connections}, as the original's
 * {@code limit.Listener}): checked when a connection is set up, before any handler (TLS included) is added, so a
 * refused connection costs an accept and a close and nothing else. Thread-safe.
 */
public final class ConnectionLimit {
    private volatile int cap;
    private final AtomicInteger open = new AtomicInteger();
    private final LongAdder refused = new LongAdder();

    /** @param cap open connections allowed at once; 0 = no cap (connections are still counted) */
    public ConnectionLimit(int cap) {
        this.cap = cap;
    }

    /**
     * Counts a new connection. @return false when it is beyond the cap: the caller closes it at once. Either way the
     * connection is counted until it closes.
     */
    public boolean admit(Channel ch) {
        int n = open.incrementAndGet();
        ch.closeFuture().addListener(f -> open.decrementAndGet());
        int cap = this.cap;
        if (cap == 0 || n <= cap) {
            return true;
        }
        refused.increment();
        return false;
    }

    /** Connections closed at accept since start. */
    public long refused() {
        return refused.sum();
    }

    public int open() {
        return open.get();
    }

    /** A new cap for connections set up from now on; open ones stay. */
    public void cap(int cap) {
        this.cap = cap;
    }
}
