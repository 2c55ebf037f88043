package dev.fleetserver.es.store;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Filter;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.util.Json;

/** Renders the store port's {@link Query} as Elasticsearch search bodies (what {@code ip/dsl} renders in the original). */
final class QueryDsl {
    static final int MAX_WINDOW = 10_000;

    private QueryDsl() {
    }

    static ObjectNode search(Query q) {
        ObjectNode body = Json.object();
        body.set("query", bool(q));
        ArrayNode sort = body.putArray("sort");
        if (q.sortField().equals(Query.SEQ_NO)) {
            sort.addObject().put("_seq_no", q.ascending() ? "asc" : "desc");
        } else {
            ObjectNode s = sort.addObject().putObject(q.sortField());
            s.put("order", q.ascending() ? "asc" : "desc");
            s.put("missing", "_last");
            s.put("unmapped_type", "keyword");
            sort.addObject().put("_seq_no", "asc");
        }
        // Elasticsearch refuses windows past index.max_result_window (10000 by default).
        body.put("size", Math.max(0, Math.min(q.size(), MAX_WINDOW - q.from())));
        if (q.from() > 0) {
            body.put("from", q.from());
        }
        if (q.fields() != null) {
            q.fields().forEach(body.putArray("_source")::add);
        }
        body.put("seq_no_primary_term", true);
        body.put("track_total_hits", false);
        return body;
    }

    static ObjectNode count(Query q) {
        ObjectNode body = Json.object();
        body.set("query", bool(q));
        body.put("size", 0);
        body.put("track_total_hits", true);
        return body;
    }

    static ObjectNode bool(Query q) {
        ObjectNode query = Json.object();
        ArrayNode filter = query.putObject("bool").putArray("filter");
        for (Filter f : q.filters()) {
            filter.add(clause(f));
        }
        return query;
    }

    /**
     * Timestamps with every component spelled out: Elasticsearch rounds a date bound that lacks components (a
     * {@code gt} of {@code ...:00Z} would skip the rest of that second), the port compares exact instants.
     */
    static com.fasterxml.jackson.databind.JsonNode bound(com.fasterxml.jackson.databind.JsonNode value) {
        if (value.isTextual()) {
            java.time.Instant t = dev.fleetserver.core.util.Times.parse(value.textValue());
            if (t != null && value.textValue().length() >= 20) {
                return com.fasterxml.jackson.databind.node.TextNode.valueOf(java.time.format.DateTimeFormatter
                        .ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(java.time.ZoneOffset.UTC).format(t));
            }
        }
        return value;
    }

    static ObjectNode clause(Filter f) {
        ObjectNode c = Json.object();
        if (f instanceof Filter.Term t) {
            if (t.field().equals("_id")) {
                c.putObject("ids").putArray("values").add(t.value());
            } else {
                c.putObject("term").set(t.field(), t.value());
            }
        } else if (f instanceof Filter.Terms t) {
            ArrayNode values = t.field().equals("_id")
                    ? c.putObject("ids").putArray("values")
                    : c.putObject("terms").putArray(t.field());
            t.values().forEach(values::add);
        } else if (f instanceof Filter.Range r) {
            ObjectNode range = c.putObject("range").putObject(r.field());
            if (r.gt() != null) {
                range.set("gt", bound(r.gt()));
            }
            if (r.gte() != null) {
                range.set("gte", bound(r.gte()));
            }
            if (r.lt() != null) {
                range.set("lt", bound(r.lt()));
            }
            if (r.lte() != null) {
                range.set("lte", bound(r.lte()));
            }
        } else if (f instanceof Filter.Exists e) {
            c.putObject("exists").put("field", e.field());
        } else if (f instanceof Filter.Not n) {
            c.putObject("bool").putArray("must_not").add(clause(n.filter()));
        } else {
            throw new IllegalArgumentException("unknown filter " + f);
        }
        return c;
    }
}
