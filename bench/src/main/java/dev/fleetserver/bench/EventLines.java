package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.TimeUnit;

/**
 * The stdout protocol of the bench's child processes (load generators, the attack client): one JSON object per line,
 * each with {@code event} and {@code elapsedMs}, written whole even when several threads print at once.
 */
final class EventLines {
    private static final ObjectMapper JSON = new ObjectMapper();

    private EventLines() {
    }

    /** A new event line of this kind, timed from {@code startNanos} ({@link System#nanoTime()}). */
    static ObjectNode event(String kind, long startNanos) {
        ObjectNode e = JSON.createObjectNode();
        e.put("event", kind);
        e.put("elapsedMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        return e;
    }

    static void print(ObjectNode e) {
        synchronized (System.out) {
            System.out.println(e.toString());
            System.out.flush();
        }
    }
}
