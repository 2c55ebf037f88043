package dev.fleetserver.core.manage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.util.List;
import java.util.function.Function;

/** Kibana's paged list answer: {@code {"items":[…],"total","page","perPage"}}. */
final class Pages {
    private Pages() {
    }

    /** Page {@code page} (from 1; anything lower is the first) of {@code all}, each element shown as {@code item}. */
    static <T> ObjectNode page(List<T> all, int page, int perPage, Function<T, JsonNode> item) {
        return of(all.stream().skip((long) Math.max(0, page - 1) * perPage).limit(perPage).toList(), all.size(), page,
                perPage, item);
    }

    /** A page already cut: its elements, and how many there are in all. */
    static <T> ObjectNode of(List<T> pageItems, long total, int page, int perPage, Function<T, JsonNode> item) {
        ObjectNode out = Json.object();
        ArrayNode items = out.putArray("items");
        pageItems.forEach(t -> items.add(item.apply(t)));
        out.put("total", total);
        out.put("page", page);
        out.put("perPage", perPage);
        return out;
    }
}
