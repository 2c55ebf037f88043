package dev.fleetserver.core.ack;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.util.List;

/**
 * The answer to an acks request: one status per event, in order. The HTTP status is the highest item status, and the
 * body always says {@code "action":"acks"} (Elastic Agent reads it at any status).
 */
public record AckResult(List<Item> items) {

    public record Item(int status, String message) {
    }

    public int httpStatus() {
        return items.stream().mapToInt(Item::status).max().orElse(200);
    }

    public ObjectNode body() {
        ObjectNode out = Json.object();
        out.put("action", "acks");
        if (items.stream().anyMatch(i -> i.status() >= 400)) {
            out.put("errors", true);
        }
        if (!items.isEmpty()) {
            ArrayNode arr = out.putArray("items");
            for (Item i : items) {
                arr.addObject().put("status", i.status()).put("message", i.message());
            }
        }
        return out;
    }
}
