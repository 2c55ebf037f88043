package dev.fleetserver.netty.http;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/**
 * Whether a listener is being stopped, kept as an attribute of the listening channel so that its connections (whose
 * {@link Channel#parent()} it is) can tell without any per-connection state: answers written while draining close
 * their connection.
 */
public final class Draining {
    private static final AttributeKey<Boolean> DRAINING = AttributeKey.valueOf("fleet.draining");

    private Draining() {
    }

    /** Marks {@code listener}: from now on its connections close after their next answer. */
    public static void start(Channel listener) {
        listener.attr(DRAINING).set(Boolean.TRUE);
    }

    /** True when {@code connection}'s listener is draining. */
    public static boolean isDraining(Channel connection) {
        Channel listener = connection.parent();
        return listener != null && Boolean.TRUE.equals(listener.attr(DRAINING).get());
    }
}
