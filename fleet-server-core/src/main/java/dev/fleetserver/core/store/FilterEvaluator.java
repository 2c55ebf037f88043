package dev.fleetserver.core.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;

/**
 * The reference semantics of {@link Filter} and {@link Query} sorting, evaluated in memory against a {@link Doc}.
 * The embedded store uses it as is; the Elasticsearch back end must behave the same (the contract suite checks it).
 *
 * <p>A field resolves to a list of values: the dotted path is followed through objects (a key that itself contains
 * dots is found too) and through arrays, whose elements all count. {@code _id} and {@code _seq_no} resolve to the
 * document id and sequence number. A missing field resolves to no values, so term and range filters do not match it.
 */
public final class FilterEvaluator {

    private FilterEvaluator() {
    }

    /** Whether the document matches the filter. */
    public static boolean matches(Doc doc, Filter filter) {
        if (filter instanceof Filter.Term term) {
            return anyValue(doc, term.field(), value -> termEquals(value, term.value()));
        } else if (filter instanceof Filter.Terms terms) {
            return anyValue(doc, terms.field(), value -> terms.values().stream().anyMatch(t -> termEquals(value, t)));
        } else if (filter instanceof Filter.Range range) {
            return anyValue(doc, range.field(), value -> inRange(value, range));
        } else if (filter instanceof Filter.Exists exists) {
            return anyValue(doc, exists.field(), value -> !value.isNull());
        } else if (filter instanceof Filter.Not not) {
            return !matches(doc, not.filter());
        }
        throw new IllegalArgumentException("unknown filter " + filter);
    }

    /** Whether the document matches every filter (true for none). */
    public static boolean matchesAll(Doc doc, List<Filter> filters) {
        for (Filter filter : filters) {
            if (!matches(doc, filter)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The order of a query's hits: by {@code _seq_no} or by a field (numbers numerically, RFC 3339 timestamps as
     * instants, other strings lexicographically; for arrays the smallest element ascending, the largest descending),
     * documents lacking the field last in both directions, ties by sequence number ascending.
     */
    public static Comparator<Doc> sortOrder(Query query) {
        Comparator<Doc> bySeqNo = Comparator.comparingLong(Doc::seqNo);
        if (Query.SEQ_NO.equals(query.sortField())) {
            return query.ascending() ? bySeqNo : bySeqNo.reversed();
        }
        String field = query.sortField();
        boolean ascending = query.ascending();
        Comparator<Doc> byField = (a, b) -> {
            SortKey ka = sortKey(a, field, ascending);
            SortKey kb = sortKey(b, field, ascending);
            if (ka == null || kb == null) {
                return ka == kb ? 0 : ka == null ? 1 : -1;
            }
            int order = ka.compareTo(kb);
            return ascending ? order : -order;
        };
        return byField.thenComparing(bySeqNo);
    }

    /** The field's values in the document, with arrays flattened; empty when the field is missing. */
    public static List<JsonNode> values(Doc doc, String field) {
        if (field.equals("_id")) {
            return List.of(TextNode.valueOf(doc.id()));
        }
        if (field.equals(Query.SEQ_NO)) {
            return List.of(LongNode.valueOf(doc.seqNo()));
        }
        List<JsonNode> out = new ArrayList<>(1);
        collect(doc.source(), field.split("\\.", -1), 0, out);
        return out;
    }

    private static void collect(JsonNode node, String[] path, int from, List<JsonNode> out) {
        if (node == null || node.isMissingNode()) {
            return;
        }
        if (node.isArray()) {
            for (JsonNode element : node) {
                collect(element, path, from, out);
            }
            return;
        }
        if (from == path.length) {
            out.add(node);
            return;
        }
        if (!node.isObject()) {
            return;
        }
        // Elasticsearch treats {"a.b": 1} and {"a": {"b": 1}} alike, so try every split of the remaining path.
        StringBuilder key = new StringBuilder();
        for (int i = from; i < path.length; i++) {
            if (i > from) {
                key.append('.');
            }
            key.append(path[i]);
            JsonNode child = node.get(key.toString());
            if (child != null) {
                collect(child, path, i + 1, out);
            }
        }
    }

    private static boolean anyValue(Doc doc, String field, Predicate<JsonNode> predicate) {
        for (JsonNode value : values(doc, field)) {
            if (predicate.test(value)) {
                return true;
            }
        }
        return false;
    }

    private static boolean termEquals(JsonNode value, JsonNode term) {
        if (value.isNull() || term == null || term.isNull()) {
            return false;
        }
        if (value.isTextual() && term.isTextual()) {
            // The common case (ids, names, statuses): no number parsing, which throws for most ids.
            return value.textValue().equals(term.textValue());
        }
        BigDecimal a = asNumber(value);
        BigDecimal b = asNumber(term);
        if ((value.isNumber() || term.isNumber()) && a != null && b != null) {
            return a.compareTo(b) == 0;
        }
        if (value.isBoolean() || term.isBoolean()) {
            return asBoolean(value) != null && asBoolean(value).equals(asBoolean(term));
        }
        if (value.isValueNode() && term.isValueNode()) {
            return value.asText().equals(term.asText());
        }
        return value.equals(term);
    }

    /**
     * Whether a term of this value can only match a string of the very same text: true for strings that read as
     * neither a number nor a boolean. A store may then narrow a search to documents whose text holds that string.
     */
    public static boolean matchesOnlyEqualText(JsonNode term) {
        return term != null && term.isTextual() && asNumber(term) == null && asBoolean(term) == null;
    }

    private static boolean inRange(JsonNode value, Filter.Range range) {
        if (value.isNull()) {
            return false;
        }
        return (range.gt() == null || compareForRange(value, range.gt()) > 0)
            && (range.gte() == null || compareForRange(value, range.gte()) >= 0)
            && (range.lt() == null || compareForRange(value, range.lt()) < 0)
            && (range.lte() == null || compareForRange(value, range.lte()) <= 0);
    }

    private static int compareForRange(JsonNode value, JsonNode bound) {
        if (value.isTextual() && bound.isTextual()) {
            Instant a = parseInstant(value.textValue());
            Instant b = a == null ? null : parseInstant(bound.textValue());
            if (b != null) {
                return a.compareTo(b);
            }
        }
        BigDecimal a = asNumber(value);
        BigDecimal b = a == null ? null : asNumber(bound);
        if (b != null) {
            return a.compareTo(b);
        }
        return value.asText().compareTo(bound.asText());
    }

    private static BigDecimal asNumber(JsonNode node) {
        if (node.isNumber()) {
            if ((node.isDouble() || node.isFloat()) && !Double.isFinite(node.doubleValue())) {
                return null; // an out-of-range number read back as infinity has no decimal value
            }
            return node.isIntegralNumber() && node.canConvertToLong()
                ? BigDecimal.valueOf(node.longValue()) : node.decimalValue();
        }
        if (node.isTextual() && looksNumeric(node.textValue())) {
            try {
                return new BigDecimal(node.textValue());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    private static boolean looksNumeric(String s) {
        if (s.isEmpty()) {
            return false;
        }
        char c = s.charAt(0);
        return (c >= '0' && c <= '9') || ((c == '-' || c == '+' || c == '.') && s.length() > 1);
    }

    private static Boolean asBoolean(JsonNode node) {
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isTextual() && (node.textValue().equals("true") || node.textValue().equals("false"))) {
            return Boolean.valueOf(node.textValue());
        }
        return null;
    }

    /**
     * Parses an RFC 3339 / ISO-8601 timestamp ({@code 2024-01-01T00:00:00Z}, with fractions or an offset); a date
     * or date-time without zone is taken as UTC, like Elasticsearch's {@code strict_date_optional_time}. Returns
     * {@code null} for anything else.
     */
    static Instant parseInstant(String s) {
        if (s.length() < 10 || s.charAt(4) != '-' || s.charAt(7) != '-' || !Character.isDigit(s.charAt(0))) {
            return null;
        }
        try {
            if (s.length() == 10) {
                return LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            char last = s.charAt(s.length() - 1);
            boolean zoned = last == 'Z' || last == 'z' || s.lastIndexOf('+') > 10 || s.lastIndexOf('-') > 10;
            if (zoned) {
                return OffsetDateTime.parse(s.replace('z', 'Z').replace('t', 'T'), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                    .toInstant();
            }
            return LocalDateTime.parse(s.replace('t', 'T'), DateTimeFormatter.ISO_LOCAL_DATE_TIME).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** A typed sort value with a total order: numbers, then instants, then strings, then booleans. */
    private record SortKey(int kind, BigDecimal number, Instant instant, String text) implements Comparable<SortKey> {
        @Override
        public int compareTo(SortKey o) {
            if (kind != o.kind) {
                return Integer.compare(kind, o.kind);
            }
            return switch (kind) {
                case 0 -> number.compareTo(o.number);
                case 1 -> instant.compareTo(o.instant);
                default -> text.compareTo(o.text);
            };
        }
    }

    private static SortKey sortKey(Doc doc, String field, boolean ascending) {
        SortKey best = null;
        for (JsonNode value : values(doc, field)) {
            SortKey key = sortKey(value);
            if (key != null && (best == null || (ascending ? key.compareTo(best) < 0 : key.compareTo(best) > 0))) {
                best = key;
            }
        }
        return best;
    }

    private static SortKey sortKey(JsonNode value) {
        if (value.isNumber()) {
            return new SortKey(0, asNumber(value), null, null);
        }
        if (value.isTextual()) {
            Instant instant = parseInstant(value.textValue());
            return instant != null
                ? new SortKey(1, null, instant, null)
                : new SortKey(2, null, null, value.textValue());
        }
        if (value.isBoolean()) {
            return new SortKey(3, null, null, value.asText());
        }
        return null;
    }
}
