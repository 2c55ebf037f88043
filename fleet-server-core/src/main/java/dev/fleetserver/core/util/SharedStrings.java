package dev.fleetserver.core.util;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Hands out one instance of equal short strings that tens of thousands of long-lived objects would otherwise each
 * hold a copy of (a parked checkin's policy id, status, message and ack token: parsed per request, yet the same for
 * most agents). Bounded: when it has seen {@link #MAX_ENTRIES} distinct values it starts over instead of growing, so
 * a stream of distinct values costs nothing but the lookups. Thread-safe.
 */
public final class SharedStrings {
    static final int MAX_LENGTH = 256;
    static final int MAX_ENTRIES = 4096;

    private final ConcurrentHashMap<String, String> strings = new ConcurrentHashMap<>();

    /** The shared instance equal to {@code s} (null and long strings are returned as they are). */
    public String share(String s) {
        if (s == null || s.length() > MAX_LENGTH) {
            return s;
        }
        String known = strings.get(s);
        if (known != null) {
            return known;
        }
        if (strings.size() >= MAX_ENTRIES) {
            strings.clear();
        }
        known = strings.putIfAbsent(s, s);
        return known == null ? s : known;
    }

    int size() {
        return strings.size();
    }
}
