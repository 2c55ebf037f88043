package dev.fleetserver.netty.console;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The browser console's sign-ins on one server: each a random 256-bit id, handed to the browser in an HttpOnly,
 * SameSite=Strict cookie, valid for a fixed lifetime from its sign-in (no sliding renewal: a stolen cookie is worth at
 * most that long). At most {@link #MAX_SESSIONS} live at once; beyond, the oldest is dropped (signed out). Sessions
 * live in memory: a restart signs everyone out, and each server of a fleet keeps its own. Thread-safe.
 */
public final class ConsoleSessions {
    /** The cookie that carries the session id. */
    public static final String COOKIE = "fleet_console_session";
    static final int MAX_SESSIONS = 1_000;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Duration lifetime;
    private final LongSupplier nanoTime;
    /** Session id to its expiry ({@link System#nanoTime()} scale), oldest first. */
    private final LinkedHashMap<String, Long> sessions = new LinkedHashMap<>();

    public ConsoleSessions(Duration lifetime) {
        this(lifetime, System::nanoTime);
    }

    ConsoleSessions(Duration lifetime, LongSupplier nanoTime) {
        if (lifetime.isNegative() || lifetime.isZero()) {
            throw new IllegalArgumentException("a session lifetime must be positive: " + lifetime);
        }
        this.lifetime = lifetime;
        this.nanoTime = nanoTime;
    }

    /** How long a session lasts from its sign-in. */
    public Duration lifetime() {
        return lifetime;
    }

    /** Starts a session; returns its id. */
    public synchronized String open() {
        byte[] id = new byte[32];
        RANDOM.nextBytes(id);
        String session = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
        long now = nanoTime.getAsLong();
        dropExpired(now);
        if (sessions.size() >= MAX_SESSIONS) {
            Iterator<String> oldest = sessions.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
        sessions.put(session, now + lifetime.toNanos());
        return session;
    }

    /** Whether {@code id} names a live session; an expired one is forgotten. Null is no session. */
    public synchronized boolean valid(String id) {
        if (id == null) {
            return false;
        }
        Long expiry = sessions.get(id);
        if (expiry == null) {
            return false;
        }
        if (nanoTime.getAsLong() - expiry >= 0) {
            sessions.remove(id);
            return false;
        }
        return true;
    }

    /** Ends a session (signing out); nothing when there is none. */
    public synchronized void close(String id) {
        if (id != null) {
            sessions.remove(id);
        }
    }

    synchronized int size() {
        return sessions.size();
    }

    private void dropExpired(long now) {
        for (Iterator<Map.Entry<String, Long>> it = sessions.entrySet().iterator(); it.hasNext(); ) {
            if (now - it.next().getValue() >= 0) {
                it.remove();
            } else {
                // Oldest first and all of one lifetime: the rest expire later.
                return;
            }
        }
    }
}
