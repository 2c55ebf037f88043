package dev.fleetserver.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The behaviour every {@link DocumentStore} back end shares, written against the port only. A subclass provides a
 * store per test (and closes it); each test uses its own index name, so a shared cluster works too.
 */
public abstract class DocumentStoreContract {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
        .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES, JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES)
        .build();

    /** A unique, Elasticsearch-valid index name for the running test. */
    protected String index;

    /** The store under test: fresh for each test, closed by the subclass. */
    protected abstract DocumentStore store();

    /** Prefix of the per-test index names (a back end may only be allowed to write some index patterns). */
    protected String indexPrefix() {
        return "contract-";
    }

    @BeforeEach
    protected void nameTheIndex(TestInfo test) {
        String method = test.getTestMethod().map(m -> m.getName()).orElse("test");
        index = indexPrefix() + method.toLowerCase(Locale.ROOT) + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void aCreatedDocumentCanBeReadBack() throws Exception {
        ObjectNode source = json("{agent: {id: 'a1', version: '9.0.0'}, tags: ['x'], active: true, n: 3}");
        long seq = await(store().create(index, "a1", source));

        Doc doc = await(store().get(index, "a1")).orElseThrow();
        assertThat(seq).isGreaterThanOrEqualTo(0);
        assertThat(doc.index()).isEqualTo(index);
        assertThat(doc.id()).isEqualTo("a1");
        assertThat(doc.seqNo()).isEqualTo(seq);
        assertThat(doc.primaryTerm()).isGreaterThanOrEqualTo(1);
        assertThat(doc.source()).isEqualTo(source);
    }

    @Test
    void aMissingDocumentReadsAsEmpty() throws Exception {
        await(store().create(index, "present", json("{}")));

        assertThat(await(store().get(index, "absent"))).isEmpty();
    }

    @Test
    void creatingAnExistingIdFailsWithConflict() throws Exception {
        await(store().create(index, "a1", json("{v: 1}")));

        assertThat(failureOf(store().create(index, "a1", json("{v: 2}")))).isInstanceOf(StoreException.Conflict.class);
        assertThat(source(index, "a1")).isEqualTo(json("{v: 1}"));
    }

    @Test
    void putCreatesOrReplacesTheWholeDocument() throws Exception {
        long first = await(store().put(index, "a1", json("{v: 1, old: true}")));
        long second = await(store().put(index, "a1", json("{v: 2}")));

        assertThat(second).isGreaterThan(first);
        assertThat(source(index, "a1")).isEqualTo(json("{v: 2}"));
    }

    @Test
    void partialUpdatesMergeObjectsAndReplaceArrays() throws Exception {
        await(store().create(index, "a1",
            json("{agent: {id: 'a1', version: '8.0.0'}, tags: ['a', 'b'], keep: 1, gone: 'x'}")));

        await(store().update(index, "a1", json("{agent: {version: '9.0.0'}, tags: ['c'], gone: null, added: {k: 'v'}}")));

        assertThat(source(index, "a1")).isEqualTo(
            json("{agent: {id: 'a1', version: '9.0.0'}, tags: ['c'], keep: 1, gone: null, added: {k: 'v'}}"));
    }

    @Test
    void updatingAMissingDocumentFailsWithNotFound() {
        assertThat(failureOf(store().update(index, "nope", json("{v: 1}")))).isInstanceOf(StoreException.NotFound.class);
    }

    @Test
    void updateWithStaleSeqNoFailsWithConflict() throws Exception {
        long created = await(store().create(index, "a1", json("{v: 1}")));
        long updated = await(store().update(index, "a1", json("{v: 2}")));

        assertThat(failureOf(store().write(new WriteOp.Update(index, "a1", json("{v: 3}"), created))))
            .isInstanceOf(StoreException.Conflict.class);
        assertThat(source(index, "a1")).isEqualTo(json("{v: 2}"));

        long guarded = await(store().write(new WriteOp.Update(index, "a1", json("{v: 4}"), updated)));
        assertThat(guarded).isGreaterThan(updated);
        assertThat(source(index, "a1")).isEqualTo(json("{v: 4}"));
    }

    @Test
    void aConditionalPutReplacesOnlyTheVersionReadAndNeverCreates() throws Exception {
        await(store().create(index, "a1", json("{v: 1, outputs: {a: {k: 1}, b: {k: 2}}}")));
        Doc read = await(store().get(index, "a1")).orElseThrow();
        await(store().update(index, "a1", json("{v: 2}")));

        assertThat(failureOf(store().write(WriteOp.Put.ifUnchanged(read, json("{v: 1, outputs: {a: {k: 1}}}")))))
            .isInstanceOf(StoreException.Conflict.class);
        assertThat(source(index, "a1")).isEqualTo(json("{v: 2, outputs: {a: {k: 1}, b: {k: 2}}}"));

        Doc fresh = await(store().get(index, "a1")).orElseThrow();
        long replaced = await(store().write(WriteOp.Put.ifUnchanged(fresh, json("{v: 2, outputs: {a: {k: 1}}}"))));
        assertThat(replaced).isGreaterThan(fresh.seqNo());
        assertThat(source(index, "a1")).isEqualTo(json("{v: 2, outputs: {a: {k: 1}}}"));

        assertThat(failureOf(store().write(new WriteOp.Put(index, "never", json("{v: 1}"), fresh.seqNo(), fresh.primaryTerm()))))
            .isInstanceOf(StoreException.Conflict.class);
        assertThat(await(store().get(index, "never"))).isEmpty();
    }

    @Test
    void deletingRemovesTheDocumentAndDeletingAgainFailsWithNotFound() throws Exception {
        await(store().create(index, "a1", json("{v: 1}")));

        await(store().delete(index, "a1"));

        assertThat(await(store().get(index, "a1"))).isEmpty();
        assertThat(failureOf(store().delete(index, "a1"))).isInstanceOf(StoreException.NotFound.class);
    }

    @Test
    void sequenceNumbersIncreaseAcrossUpdatesAndDeletes() throws Exception {
        long created = await(store().create(index, "a1", json("{v: 1}")));
        long updated = await(store().update(index, "a1", json("{v: 2}")));
        long put = await(store().put(index, "a2", json("{v: 1}")));
        assertThat(updated).isGreaterThan(created);
        assertThat(put).isGreaterThan(updated);

        await(store().delete(index, "a1"));
        long afterDelete = await(store().checkpoint(index));
        assertThat(afterDelete).as("a delete consumes a sequence number").isGreaterThan(put);

        long recreated = await(store().create(index, "a1", json("{v: 3}")));
        assertThat(recreated).isGreaterThan(afterDelete);
        assertThat(await(store().checkpoint(index))).isEqualTo(recreated);
    }

    @Test
    void aMissingIndexIsEmptyWithCheckpointMinusOne() throws Exception {
        assertThat(await(store().get(index, "a1"))).isEmpty();
        assertThat(await(store().search(index, Query.where()))).isEmpty();
        assertThat(await(store().count(index, Query.where()))).isZero();
        assertThat(await(store().changesAfter(index, -1, Long.MAX_VALUE, 100))).isEmpty();
        assertThat(await(store().checkpoint(index))).isEqualTo(-1);
    }

    @Test
    void changesAfterReturnsOnlyNewerDocumentsInSeqOrder() throws Exception {
        long a = await(store().create(index, "a", json("{v: 1}")));
        long b = await(store().create(index, "b", json("{v: 1}")));
        long c = await(store().create(index, "c", json("{v: 1}")));
        long a2 = await(store().update(index, "a", json("{v: 2}")));
        long checkpoint = await(store().checkpoint(index));
        assertThat(checkpoint).isEqualTo(a2);

        List<Doc> afterB = await(store().changesAfter(index, b, checkpoint, 100));
        assertThat(afterB).extracting(Doc::id).containsExactly("c", "a");
        assertThat(afterB).extracting(Doc::seqNo).containsExactly(c, a2);
        assertThat(afterB.get(1).source()).isEqualTo(json("{v: 2}"));

        assertThat(await(store().changesAfter(index, a - 1, checkpoint, 2))).extracting(Doc::id)
            .as("the overwritten document appears once, at its newest seq no").containsExactly("b", "c");
        assertThat(await(store().changesAfter(index, a - 1, c, 100))).extracting(Doc::id)
            .as("nothing above upToSeqNo").containsExactly("b", "c");
        assertThat(await(store().changesAfter(index, checkpoint, Long.MAX_VALUE, 100))).isEmpty();
    }

    @Test
    void termMatchesAnyElementOfAnArray() throws Exception {
        await(store().create(index, "ab", json("{tags: ['a', 'b']}")));
        await(store().create(index, "c", json("{tags: ['c']}")));
        await(store().create(index, "none", json("{other: 'b'}")));

        assertThat(ids(Query.where().term("tags", "b"))).containsExactly("ab");
        assertThat(ids(Query.where().terms("tags", List.of("c", "zzz")))).containsExactly("c");
        assertThat(ids(Query.where().not(new Filter.Term("tags", TextNode.valueOf("b"))))).containsExactly("c", "none");
    }

    @Test
    void termMatchesDottedPathsBooleansNumbersAndTheIdPseudoField() throws Exception {
        await(store().create(index, "a1", json("{agent: {id: 'x', active: true}, policy: {revision_idx: 3}}")));
        await(store().create(index, "a2", json("{agent: {id: 'y', active: false}, policy: {revision_idx: 4}}")));

        assertThat(ids(Query.where().term("agent.id", "y"))).containsExactly("a2");
        assertThat(ids(Query.where().term("agent.active", true))).containsExactly("a1");
        assertThat(ids(Query.where().term("policy.revision_idx", 4))).containsExactly("a2");
        assertThat(ids(Query.where().term("_id", "a1"))).containsExactly("a1");
        assertThat(ids(Query.where().terms("_id", List.of("a2", "missing")))).containsExactly("a2");
    }

    @Test
    void termMatchesStringsWithQuotesEscapesAndAnyUnicodeExactly() throws Exception {
        List<String> values = List.of("he said \"hi\"", "back\\slash", "tab\tand\nline", "\u0001control", "ünïcødé ✓",
                "clef \uD834\uDD1E", "line\u2028separator", "</script>", "");
        for (int i = 0; i < values.size(); i++) {
            ObjectNode source = json("{}");
            source.put("name", values.get(i));
            source.putArray("tags").add("t").add(values.get(i));
            await(store().create(index, "v" + i, source));
        }
        await(store().create(index, "prefix", json("{name: 'he said'}")));

        for (int i = 0; i < values.size(); i++) {
            assertThat(ids(Query.where().term("name", values.get(i)))).as(values.get(i)).containsExactly("v" + i);
            assertThat(ids(Query.where().term("tags", values.get(i)))).as(values.get(i)).containsExactly("v" + i);
        }
        assertThat(ids(Query.where().terms("name", List.of(values.get(0), values.get(4), "absent"))))
                .containsExactly("v0", "v4");
        assertThat(ids(Query.where().term("name", "he said"))).containsExactly("prefix");
    }

    @Test
    void aStringTermMatchesTheNumberOrBooleanItSpells() throws Exception {
        await(store().create(index, "n", json("{revision_idx: 5, active: true}")));
        await(store().create(index, "s", json("{revision_idx: '5', active: 'true'}")));

        assertThat(ids(Query.where().term("revision_idx", "5"))).containsExactly("n", "s");
        assertThat(ids(Query.where().term("active", "true"))).containsExactly("n", "s");
    }

    @Test
    void existsMatchesPresentNonNullFields() throws Exception {
        await(store().create(index, "set", json("{unenrolled_at: '2024-01-01T00:00:00Z'}")));
        await(store().create(index, "null", json("{unenrolled_at: null}")));
        await(store().create(index, "absent", json("{other: 1}")));

        assertThat(ids(Query.where().exists("unenrolled_at"))).containsExactly("set");
        assertThat(ids(Query.where().not(new Filter.Exists("unenrolled_at")))).containsExactly("null", "absent");
    }

    @Test
    void rangeOnTimestampsComparesInstants() throws Exception {
        await(store().create(index, "before", json("{expiration: '2023-12-31T23:59:59.999Z'}")));
        await(store().create(index, "half-second-later", json("{expiration: '2024-01-01T00:00:00.500Z'}")));
        await(store().create(index, "offset-but-earlier", json("{expiration: '2024-01-01T01:30:00+02:00'}")));
        await(store().create(index, "offset-and-later", json("{expiration: '2023-12-31T20:00:00-05:00'}")));
        await(store().create(index, "no-field", json("{other: 1}")));

        assertThat(ids(Query.where().after("expiration", "2024-01-01T00:00:00Z")))
            .containsExactly("half-second-later", "offset-and-later");
        assertThat(ids(Query.where().filter(new Filter.Range("expiration", null, null,
            TextNode.valueOf("2024-01-01T00:00:00.000Z"), null))))
            .containsExactly("before", "offset-but-earlier");
    }

    @Test
    void rangeOnNumbersComparesNumerically() throws Exception {
        await(store().create(index, "nine", json("{n: 9}")));
        await(store().create(index, "ten", json("{n: 10}")));
        await(store().create(index, "eleven", json("{n: 11}")));

        assertThat(ids(Query.where().filter(new Filter.Range("n", null, LongNode.valueOf(10), LongNode.valueOf(11), null))))
            .containsExactly("ten");
        assertThat(ids(Query.where().filter(new Filter.Range("n", LongNode.valueOf(9), null, null, LongNode.valueOf(11)))))
            .containsExactly("ten", "eleven");
    }

    @Test
    void seqNoFiltersSelectAWindowOfWrites() throws Exception {
        long a = await(store().create(index, "a", json("{}")));
        long b = await(store().create(index, "b", json("{}")));
        await(store().create(index, "c", json("{}")));

        assertThat(ids(Query.where().seqNoAfter(a).seqNoAtMost(b))).containsExactly("b");
        assertThat(await(store().count(index, Query.where().seqNoAfter(a)))).isEqualTo(2);
    }

    @Test
    void searchSortsAndLimits() throws Exception {
        for (int revision : new int[] {3, 1, 5, 2, 4}) {
            await(store().create(index, "r" + revision, json("{policy_id: 'p1', revision_idx: " + revision + "}")));
        }
        await(store().create(index, "other-policy", json("{policy_id: 'p2', revision_idx: 9}")));
        await(store().create(index, "no-revision", json("{policy_id: 'p1'}")));

        assertThat(ids(Query.where().term("policy_id", "p1").sortDesc("revision_idx").size(2))).containsExactly("r5", "r4");
        assertThat(ids(Query.where().term("policy_id", "p1").sortAsc("revision_idx").from(1).size(2)))
            .containsExactly("r2", "r3");
        assertThat(ids(Query.where().term("policy_id", "p1").sortAsc("revision_idx")))
            .as("documents lacking the sort field come last")
            .containsExactly("r1", "r2", "r3", "r4", "r5", "no-revision");
        assertThat(ids(Query.where().term("policy_id", "p1").sortDesc("revision_idx")))
            .containsExactly("r5", "r4", "r3", "r2", "r1", "no-revision");
        assertThat(ids(Query.where().term("policy_id", "p1"))).as("by seq no by default")
            .containsExactly("r3", "r1", "r5", "r2", "r4", "no-revision");
        assertThat(ids(Query.where().sortDesc(Query.SEQ_NO).size(1))).containsExactly("no-revision");
        assertThat(ids(Query.where().from(100))).isEmpty();
    }

    @Test
    void aSearchNamingFieldsReadsOnlyThoseWhileFiltersAndSortSeeTheWholeDocument() throws Exception {
        await(store().create(index, "r1", json("{policy_id: 'p1', revision_idx: 1, data: {inputs: ['big']}}")));
        await(store().create(index, "r2", json("{policy_id: 'p1', revision_idx: 2, data: {inputs: ['bigger']}}")));
        await(store().create(index, "r3", json("{policy_id: 'p2', revision_idx: 1}")));

        List<Doc> hits = await(store().search(index,
                Query.where().term("revision_idx", 1).sortDesc("revision_idx").fields("policy_id", "absent")));
        assertThat(hits).extracting(Doc::id).containsExactly("r1", "r3");
        assertThat(hits).extracting(Doc::source).containsExactly(json("{policy_id: 'p1'}"), json("{policy_id: 'p2'}"));
        assertThat(hits).allSatisfy(d -> assertThat(d.seqNo()).isGreaterThanOrEqualTo(0));
        assertThat(await(store().search(index,
                Query.where().term("policy_id", "p1").sortDesc("revision_idx").size(1).fields("revision_idx"))))
                .extracting(Doc::source).containsExactly(json("{revision_idx: 2}"));
        assertThat(await(store().get(index, "r2"))).hasValueSatisfying(d -> assertThat(d.source().has("data")).isTrue());
    }

    @Test
    void aSearchNamingFieldsStillFiltersAndSortsOnNestedDottedAndNegatedPaths() throws Exception {
        await(store().create(index, "d1", json("{name: 'one', 'meta.os': 'linux', host: {name: 'h1', rank: 2}, "
                + "tags: ['x'], big: {inputs: ['a', 'b']}}")));
        await(store().create(index, "d2", json("{name: 'two', 'meta.os': 'linux', host: {name: 'h2', rank: 1}, "
                + "tags: ['y'], big: {inputs: ['c']}}")));
        await(store().create(index, "d3", json("{name: 'three', 'meta.os': 'mac', host: {name: 'h3', rank: 3}}")));

        List<Doc> hits = await(store().search(index, Query.where().term("meta.os", "linux")
                .not(new Filter.Term("tags", TextNode.valueOf("z"))).sortAsc("host.rank").fields("name")));

        assertThat(hits).extracting(Doc::id).containsExactly("d2", "d1");
        assertThat(hits).extracting(Doc::source).containsExactly(json("{name: 'two'}"), json("{name: 'one'}"));
        assertThat(await(store().search(index, Query.where().exists("big.inputs").fields("host"))))
                .extracting(Doc::source).containsExactly(json("{host: {name: 'h1', rank: 2}}"), json("{host: {name: 'h2', rank: 1}}"));
    }

    @Test
    void pagesInSequenceOrderSkipAndStopAtTheRightHitsBothWays() throws Exception {
        for (int i = 0; i < 10; i++) {
            await(store().create(index, "d" + i, json("{even: " + (i % 2 == 0) + "}")));
        }

        assertThat(ids(Query.where().term("even", true).from(1).size(2))).containsExactly("d2", "d4");
        assertThat(ids(Query.where().term("even", true).sortDesc(Query.SEQ_NO).from(1).size(2))).containsExactly("d6", "d4");
        assertThat(ids(Query.where().sortDesc(Query.SEQ_NO).size(3))).containsExactly("d9", "d8", "d7");
        assertThat(ids(Query.where().term("even", false).from(4).size(5))).containsExactly("d9");
        assertThat(ids(Query.where().term("even", false).size(0))).isEmpty();
        assertThat(await(store().count(index, Query.where().term("even", false).size(1)))).isEqualTo(5);
    }

    @Test
    void hitsAreWholeDocumentsHoweverTheSearchIsSortedPagedOrSelective() throws Exception {
        List<WriteOp> ops = new java.util.ArrayList<>();
        for (int i = 0; i < 200; i++) {
            ops.add(new WriteOp.Create(index, "d" + i, source(i)));
        }
        assertThat(await(store().bulk(ops))).allSatisfy(r -> assertThat(r.ok()).isTrue());

        assertThat(await(store().search(index, Query.where().term("kind", "many").sortDesc("n").size(3))))
                .extracting(Doc::source).containsExactly(source(149), source(148), source(147));
        List<Doc> most = await(store().search(index, Query.where().term("kind", "many").size(1000)));
        assertThat(most).hasSize(150).allSatisfy(d -> assertThat(d.source()).isEqualTo(source(d.source().get("n").asInt())));
        assertThat(await(store().search(index, Query.where().term("kind", "few").sortAsc("n").size(1000))))
                .hasSize(50).allSatisfy(d -> assertThat(d.source()).isEqualTo(source(d.source().get("n").asInt())));
        assertThat(await(store().search(index, Query.where().term("even", true).from(10).size(2))))
                .extracting(Doc::source).containsExactly(source(20), source(22));
        assertThat(await(store().count(index, Query.where().term("kind", "few")))).isEqualTo(50);
    }

    private static ObjectNode source(int i) {
        return json("{n: " + i + ", even: " + (i % 2 == 0) + ", kind: '" + (i < 150 ? "many" : "few") + "', "
                + "body: {text: 'text of " + i + "', list: [" + i + ", " + (i + 1) + "], deep: {flag: true}}}");
    }

    @Test
    void countIgnoresPaging() throws Exception {
        for (int i = 0; i < 5; i++) {
            await(store().create(index, "d" + i, json("{even: " + (i % 2 == 0) + "}")));
        }

        assertThat(await(store().count(index, Query.where().size(1).from(2)))).isEqualTo(5);
        assertThat(await(store().count(index, Query.where().term("even", true).size(1)))).isEqualTo(3);
    }

    @Test
    void awaitCheckpointCompletesWhenAWriteLands() throws Exception {
        long known = await(store().checkpoint(index));
        CompletableFuture<Long> advanced = store().awaitCheckpointAfter(index, known, Duration.ofSeconds(30));

        long seq = await(store().create(index, "a1", json("{}")));

        assertThat(await(advanced)).isGreaterThanOrEqualTo(seq);
    }

    @Test
    void awaitCheckpointCompletesAtOnceWhenAlreadyPastTheKnownCheckpoint() throws Exception {
        long seq = await(store().create(index, "a1", json("{}")));

        assertThat(await(store().awaitCheckpointAfter(index, seq - 1, Duration.ofSeconds(30)))).isEqualTo(seq);
    }

    @Test
    void awaitCheckpointTimesOutWithTheCurrentCheckpoint() throws Exception {
        long seq = await(store().create(index, "a1", json("{}")));

        assertThat(await(store().awaitCheckpointAfter(index, seq, Duration.ofMillis(100)))).isEqualTo(seq);
        assertThat(await(store().awaitCheckpointAfter(index + "-missing", -1, Duration.ofMillis(100)))).isEqualTo(-1);
    }

    @Test
    void oneFailingOpInABulkDoesNotFailTheOthers() throws Exception {
        await(store().create(index, "existing", json("{v: 1}")));

        List<WriteResult> results = await(store().bulk(List.of(
            new WriteOp.Create(index, "existing", json("{v: 2}")),
            new WriteOp.Create(index, "new", json("{v: 1}")),
            new WriteOp.Update(index, "missing", json("{v: 1}")),
            new WriteOp.Delete(index, "missing"),
            new WriteOp.Put(index, "put", json("{v: 1}")),
            new WriteOp.Update(index, "existing", json("{w: 1}")))));

        assertThat(results).extracting(WriteResult::id).containsExactly("existing", "new", "missing", "missing", "put", "existing");
        assertThat(results.get(0).error()).isInstanceOf(StoreException.Conflict.class);
        assertThat(results.get(1).ok()).isTrue();
        assertThat(results.get(2).error()).isInstanceOf(StoreException.NotFound.class);
        assertThat(results.get(3).error()).isInstanceOf(StoreException.NotFound.class);
        assertThat(results.get(4).ok()).isTrue();
        assertThat(results.get(5).ok()).isTrue();
        assertThat(results.get(4).seqNo()).isGreaterThan(results.get(1).seqNo());
        assertThat(results.get(5).seqNo()).isGreaterThan(results.get(4).seqNo());
        assertThat(source(index, "existing")).isEqualTo(json("{v: 1, w: 1}"));
        assertThat(source(index, "new")).isEqualTo(json("{v: 1}"));
        assertThat(source(index, "put")).isEqualTo(json("{v: 1}"));
    }

    @Test
    void indicesAreIndependent() throws Exception {
        String other = index + "-other";
        await(store().create(index, "a1", json("{v: 1}")));
        await(store().create(other, "a1", json("{v: 2}")));

        assertThat(source(index, "a1")).isEqualTo(json("{v: 1}"));
        assertThat(source(other, "a1")).isEqualTo(json("{v: 2}"));
        assertThat(await(store().count(index, Query.where()))).isEqualTo(1);
    }

    // ---------------------------------------------------------------------------------------------- helpers

    /** Parses lenient JSON (single quotes, unquoted names) into an object. */
    protected static ObjectNode json(String lenientJson) {
        try {
            return (ObjectNode) MAPPER.readTree(lenientJson);
        } catch (Exception e) {
            throw new IllegalArgumentException(lenientJson, e);
        }
    }

    protected static <T> T await(CompletableFuture<T> future) throws Exception {
        try {
            return future.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    /** The exception a future failed with, unwrapped; fails the test when it succeeds. */
    protected static Throwable failureOf(CompletableFuture<?> future) {
        try {
            Object value = future.get(5, TimeUnit.SECONDS);
            throw new AssertionError("expected a failure, got " + value);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    protected ObjectNode source(String index, String id) throws Exception {
        Optional<Doc> doc = await(store().get(index, id));
        assertThat(doc).as("document %s/%s", index, id).isPresent();
        return doc.get().source();
    }

    protected List<String> ids(Query query) throws Exception {
        return await(store().search(index, query)).stream().map(Doc::id).toList();
    }
}
