package dev.fleetserver.core.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * One filter clause of a {@link Query}, with Elasticsearch {@code bool.filter} semantics.
 *
 * <p>Field names are dotted paths into {@code _source} ({@code agent.id}); the pseudo-fields {@code _id} and
 * {@code _seq_no} address the document id and sequence number. A term matches when the field equals the value or,
 * for an array field, when any element equals it. Range bounds on values that parse as RFC 3339 timestamps are
 * compared as instants, numbers as numbers, other strings lexicographically. A document lacking the field never
 * matches a term or range filter.
 */
public sealed interface Filter {

    /** {@code field == value} (any element, for arrays). */
    record Term(String field, JsonNode value) implements Filter {
    }

    /** {@code field} equals one of {@code values}. */
    record Terms(String field, List<JsonNode> values) implements Filter {
    }

    /** Bounds are {@code null} when absent. */
    record Range(String field, JsonNode gt, JsonNode gte, JsonNode lt, JsonNode lte) implements Filter {
    }

    /** The field is present and not null. */
    record Exists(String field) implements Filter {
    }

    /** Negation of another filter ({@code bool.must_not}). */
    record Not(Filter filter) implements Filter {
    }
}
