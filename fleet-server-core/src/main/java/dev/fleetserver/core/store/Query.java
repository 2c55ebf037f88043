package dev.fleetserver.core.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A search: all {@link Filter}s must match; hits are sorted by {@link #sortField()} and cut at {@link #size()}.
 * Built fluently: {@code Query.where().term("policy_id", "p1").sortDesc("revision_idx").size(1)}.
 */
public final class Query {
    /** The sort field meaning "by sequence number". */
    public static final String SEQ_NO = "_seq_no";

    private final List<Filter> filters = new ArrayList<>();
    private String sortField = SEQ_NO;
    private boolean ascending = true;
    private int size = 10_000;
    private int from;
    private List<String> fields;

    private Query() {
    }

    public static Query where() {
        return new Query();
    }

    public Query term(String field, String value) {
        return filter(new Filter.Term(field, TextNode.valueOf(value)));
    }

    public Query term(String field, boolean value) {
        return filter(new Filter.Term(field, BooleanNode.valueOf(value)));
    }

    public Query term(String field, long value) {
        return filter(new Filter.Term(field, LongNode.valueOf(value)));
    }

    public Query terms(String field, List<String> values) {
        return filter(new Filter.Terms(field, values.stream().<JsonNode>map(TextNode::valueOf).toList()));
    }

    public Query seqNoAfter(long seqNo) {
        return filter(new Filter.Range(SEQ_NO, LongNode.valueOf(seqNo), null, null, null));
    }

    public Query seqNoAtMost(long seqNo) {
        return filter(new Filter.Range(SEQ_NO, null, null, null, LongNode.valueOf(seqNo)));
    }

    /** {@code field > value}, where value is typically an RFC 3339 timestamp. */
    public Query after(String field, String value) {
        return filter(new Filter.Range(field, TextNode.valueOf(value), null, null, null));
    }

    public Query exists(String field) {
        return filter(new Filter.Exists(field));
    }

    public Query not(Filter filter) {
        return filter(new Filter.Not(filter));
    }

    public Query filter(Filter filter) {
        filters.add(filter);
        return this;
    }

    public Query sortAsc(String field) {
        this.sortField = field;
        this.ascending = true;
        return this;
    }

    public Query sortDesc(String field) {
        this.sortField = field;
        this.ascending = false;
        return this;
    }

    public Query size(int size) {
        this.size = size;
        return this;
    }

    public Query from(int from) {
        this.from = from;
        return this;
    }

    /**
     * Returns only these top-level fields of each hit's source (a hit's source then holds those it has, and nothing
     * else): for searches that need a few small fields of large documents, which a store may then skip reading in full.
     * Filters and sort still decide on the whole document.
     */
    public Query fields(String... names) {
        this.fields = List.of(names);
        return this;
    }

    /** The source fields to read, or null for the whole source. */
    public List<String> fields() {
        return fields;
    }

    public List<Filter> filters() {
        return List.copyOf(filters);
    }

    public String sortField() {
        return sortField;
    }

    public boolean ascending() {
        return ascending;
    }

    public int size() {
        return size;
    }

    public int from() {
        return from;
    }

    @Override
    public String toString() {
        return "Query" + filters + " sort " + sortField + (ascending ? " asc" : " desc") + " from " + from + " size " + size
                + (fields == null ? "" : " fields " + fields);
    }
}
