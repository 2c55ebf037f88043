package dev.fleetserver.core.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FilterEvaluatorTest {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
        .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES, JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES)
        .build();

    @Test
    void termFollowsDottedPathsThroughObjectsArraysAndDottedKeys() {
        Doc doc = doc("a1", 7, "{agent: {id: 'x'}, components: [{id: 'c1'}, {id: 'c2'}], 'local.meta': {os: 'linux'}}");

        assertThat(matches(doc, term("agent.id", "x"))).isTrue();
        assertThat(matches(doc, term("agent.id", "y"))).isFalse();
        assertThat(matches(doc, term("components.id", "c2"))).isTrue();
        assertThat(matches(doc, term("local.meta.os", "linux"))).isTrue();
        assertThat(matches(doc, term("agent", "x"))).as("an object is not a value").isFalse();
    }

    @Test
    void pseudoFieldsAddressIdAndSeqNo() {
        Doc doc = doc("a1", 7, "{}");

        assertThat(matches(doc, term("_id", "a1"))).isTrue();
        assertThat(matches(doc, new Filter.Term("_seq_no", LongNode.valueOf(7)))).isTrue();
        assertThat(matches(doc, new Filter.Range("_seq_no", LongNode.valueOf(6), null, LongNode.valueOf(8), null))).isTrue();
        assertThat(matches(doc, new Filter.Range("_seq_no", LongNode.valueOf(7), null, null, null))).isFalse();
    }

    @Test
    void termOnAnArrayMatchesAnyElement() {
        Doc doc = doc("a1", 0, "{tags: ['a', 'b'], nums: [1, 2]}");

        assertThat(matches(doc, term("tags", "b"))).isTrue();
        assertThat(matches(doc, term("tags", "c"))).isFalse();
        assertThat(matches(doc, new Filter.Term("nums", LongNode.valueOf(2)))).isTrue();
        assertThat(matches(doc, new Filter.Terms("tags", List.of(TextNode.valueOf("z"), TextNode.valueOf("a"))))).isTrue();
        assertThat(matches(doc, new Filter.Terms("tags", List.of()))).isFalse();
    }

    @Test
    void termComparesNumbersNumericallyAndBooleansAsBooleans() {
        Doc doc = doc("a1", 0, "{n: 5, d: 5.0, big: 12345678901234, active: true, s: 'true', text: '5'}");

        assertThat(matches(doc, new Filter.Term("n", DoubleNode.valueOf(5.0)))).isTrue();
        assertThat(matches(doc, new Filter.Term("d", LongNode.valueOf(5)))).isTrue();
        assertThat(matches(doc, new Filter.Term("n", LongNode.valueOf(6)))).isFalse();
        assertThat(matches(doc, new Filter.Term("big", LongNode.valueOf(12345678901234L)))).isTrue();
        assertThat(matches(doc, new Filter.Term("active", BooleanNode.TRUE))).isTrue();
        assertThat(matches(doc, new Filter.Term("active", BooleanNode.FALSE))).isFalse();
        assertThat(matches(doc, term("n", "x"))).isFalse();
        assertThat(matches(doc, term("text", "5"))).isTrue();
        assertThat(matches(doc, term("text", "5.0"))).as("text compares as text").isFalse();
    }

    @Test
    void aNumberTooLargeForADoubleMatchesNoNumberAndFailsNothing() {
        ObjectNode source = JsonNodeFactory.instance.objectNode().put("huge", Double.POSITIVE_INFINITY).put("n", 1);
        Doc doc = new Doc("idx", "a1", 0, 1, source);

        assertThat(matches(doc, new Filter.Term("huge", LongNode.valueOf(5)))).isFalse();
        assertThatCode(() -> matches(doc, new Filter.Range("huge", LongNode.valueOf(0), null, null, null)))
                .doesNotThrowAnyException();
        assertThat(matches(doc, term("huge", "5"))).isFalse();
        assertThat(matches(doc, new Filter.Term("n", LongNode.valueOf(1)))).isTrue();
    }

    @Test
    void aMissingOrNullFieldMatchesNoTermOrRange() {
        Doc doc = doc("a1", 0, "{nothing: null}");

        assertThat(matches(doc, term("absent", "x"))).isFalse();
        assertThat(matches(doc, new Filter.Term("nothing", NullNode.instance))).isFalse();
        assertThat(matches(doc, new Filter.Range("absent", null, null, TextNode.valueOf("z"), null))).isFalse();
        assertThat(matches(doc, new Filter.Range("nothing", null, null, TextNode.valueOf("z"), null))).isFalse();
        assertThat(matches(doc, new Filter.Not(term("absent", "x")))).isTrue();
    }

    @Test
    void existsMeansPresentAndNotNull() {
        Doc doc = doc("a1", 0, "{set: 0, nothing: null, empty: [], nulls: [null], mixed: [null, 1], obj: {}}");

        assertThat(matches(doc, new Filter.Exists("set"))).isTrue();
        assertThat(matches(doc, new Filter.Exists("nothing"))).isFalse();
        assertThat(matches(doc, new Filter.Exists("absent"))).isFalse();
        assertThat(matches(doc, new Filter.Exists("empty"))).isFalse();
        assertThat(matches(doc, new Filter.Exists("nulls"))).isFalse();
        assertThat(matches(doc, new Filter.Exists("mixed"))).isTrue();
        assertThat(matches(doc, new Filter.Not(new Filter.Exists("nothing")))).isTrue();
    }

    @Test
    void rangeComparesTimestampsAsInstants() {
        Doc doc = doc("a1", 0, "{t: '2024-01-01T01:30:00+02:00'}");

        assertThat(matches(doc, after("t", "2024-01-01T00:00:00Z"))).as("it is 2023-12-31T23:30Z").isFalse();
        assertThat(matches(doc, after("t", "2023-12-31T23:29:59.999Z"))).isTrue();
        assertThat(matches(doc, new Filter.Range("t", null, TextNode.valueOf("2023-12-31T23:30:00.000Z"), null,
            TextNode.valueOf("2023-12-31T23:30:00Z")))).as("same instant, other spelling").isTrue();
        assertThat(matches(doc, after("t", "2023-12-31"))).as("a date is midnight UTC").isTrue();
        assertThat(FilterEvaluator.parseInstant("2024-01-01T00:00:00.123456789Z")).isNotNull();
        assertThat(FilterEvaluator.parseInstant("2024-01-01T00:00:00")).isEqualTo(FilterEvaluator.parseInstant("2024-01-01T00:00:00Z"));
        assertThat(FilterEvaluator.parseInstant("not-a-date")).isNull();
        assertThat(FilterEvaluator.parseInstant("2024-13-01T00:00:00Z")).isNull();
    }

    @Test
    void rangeComparesNumbersNumericallyAndOtherStringsLexicographically() {
        Doc doc = doc("a1", 0, "{n: 10, s: 'b', v: '10'}");

        assertThat(matches(doc, new Filter.Range("n", LongNode.valueOf(9), null, null, null))).isTrue();
        assertThat(matches(doc, new Filter.Range("n", null, null, DoubleNode.valueOf(10.5), null))).isTrue();
        assertThat(matches(doc, new Filter.Range("n", null, LongNode.valueOf(11), null, null))).isFalse();
        assertThat(matches(doc, new Filter.Range("v", LongNode.valueOf(9), null, null, null))).as("numeric text").isTrue();
        assertThat(matches(doc, new Filter.Range("s", TextNode.valueOf("a"), null, TextNode.valueOf("c"), null))).isTrue();
        assertThat(matches(doc, new Filter.Range("s", null, TextNode.valueOf("bb"), null, null))).isFalse();
    }

    @Test
    void matchesAllRequiresEveryFilter() {
        Doc doc = doc("a1", 0, "{a: 'x', b: 'y'}");

        assertThat(FilterEvaluator.matchesAll(doc, List.of())).isTrue();
        assertThat(FilterEvaluator.matchesAll(doc, List.of(term("a", "x"), term("b", "y")))).isTrue();
        assertThat(FilterEvaluator.matchesAll(doc, List.of(term("a", "x"), term("b", "z")))).isFalse();
    }

    @Test
    void sortOrdersByFieldWithMissingLastAndTiesBySeqNo() {
        List<Doc> docs = List.of(
            doc("missing", 1, "{}"),
            doc("two-late", 2, "{r: 2}"),
            doc("ten", 3, "{r: 10}"),
            doc("two-early", 0, "{r: 2}"),
            doc("one", 4, "{r: 1}"));

        assertThat(sorted(docs, Query.where().sortAsc("r"))).containsExactly("one", "two-early", "two-late", "ten", "missing");
        assertThat(sorted(docs, Query.where().sortDesc("r"))).containsExactly("ten", "two-early", "two-late", "one", "missing");
        assertThat(sorted(docs, Query.where())).containsExactly("two-early", "missing", "two-late", "ten", "one");
        assertThat(sorted(docs, Query.where().sortDesc(Query.SEQ_NO))).containsExactly("one", "ten", "two-late", "missing", "two-early");
    }

    @Test
    void sortComparesStringsLexicographicallyTimestampsAsInstantsAndArraysByTheirExtremes() {
        List<Doc> strings = List.of(doc("b", 0, "{s: 'b'}"), doc("a", 1, "{s: 'a'}"), doc("B", 2, "{s: 'B'}"));
        assertThat(sorted(strings, Query.where().sortAsc("s"))).containsExactly("B", "a", "b");

        List<Doc> times = List.of(
            doc("utc-midnight", 0, "{t: '2024-01-01T00:00:00Z'}"),
            doc("earlier-with-offset", 1, "{t: '2024-01-01T01:00:00+02:00'}"));
        assertThat(sorted(times, Query.where().sortAsc("t"))).containsExactly("earlier-with-offset", "utc-midnight");

        List<Doc> arrays = List.of(doc("1-and-9", 0, "{n: [9, 1]}"), doc("5", 1, "{n: 5}"));
        assertThat(sorted(arrays, Query.where().sortAsc("n"))).containsExactly("1-and-9", "5");
        assertThat(sorted(arrays, Query.where().sortDesc("n"))).containsExactly("1-and-9", "5");
    }

    private static boolean matches(Doc doc, Filter filter) {
        return FilterEvaluator.matches(doc, filter);
    }

    private static Filter term(String field, String value) {
        return new Filter.Term(field, TextNode.valueOf(value));
    }

    private static Filter after(String field, String value) {
        return new Filter.Range(field, TextNode.valueOf(value), null, null, null);
    }

    private static List<String> sorted(List<Doc> docs, Query query) {
        List<Doc> copy = new ArrayList<>(docs);
        copy.sort(FilterEvaluator.sortOrder(query));
        return copy.stream().map(Doc::id).toList();
    }

    private static Doc doc(String id, long seq, String json) {
        try {
            JsonNode node = MAPPER.readTree(json);
            return new Doc("test", id, seq, 1, (ObjectNode) node);
        } catch (Exception e) {
            throw new IllegalArgumentException(json, e);
        }
    }
}
