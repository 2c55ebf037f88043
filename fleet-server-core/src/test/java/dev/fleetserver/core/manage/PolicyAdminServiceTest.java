package dev.fleetserver.core.manage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.embedded.EmbeddedApiKeys;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.DelegatingStore;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyAdminServiceTest {
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");

    @TempDir
    Path dataDir;

    private SqliteDocumentStore store;
    private FleetRepository repo;
    private PolicyAdminService service;

    @BeforeEach
    void open() throws Exception {
        store = SqliteDocumentStore.open(dataDir);
        repo = new FleetRepository(store);
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        ObjectNode outputs = (ObjectNode) json("{\"default\":{\"type\":\"elasticsearch\",\"hosts\":[\"http://localhost:9200\"]}}");
        service = new PolicyAdminService(repo, new EnrollmentKeyAdminService(repo, new EmbeddedApiKeys(store, clock), clock), clock, outputs);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static JsonNode json(String text) throws Exception {
        return Json.MAPPER.readTree(text);
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    /** The FleetException a call ends with, whether it throws it or fails its future with it. */
    private static FleetException failure(Supplier<CompletableFuture<?>> call) throws Exception {
        try {
            await(call.get());
        } catch (FleetException e) {
            return e;
        } catch (ExecutionException e) {
            if (Futures.unwrap(e) instanceof FleetException fe) {
                return fe;
            }
            throw e;
        }
        return fail("expected a FleetException");
    }

    private Doc revisionDoc(String docId) throws Exception {
        return await(store.get(FleetIndex.POLICIES, docId)).orElseThrow(() -> new AssertionError("no " + docId));
    }

    // --- policies ---

    @Test
    void createWritesRevisionOneWithDocIdPolicyColonOne() throws Exception {
        ObjectNode out = await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"Policy 1\",\"description\":\"d\"}")));

        JsonNode item = out.get("item");
        assertThat(item.get("id").asText()).isEqualTo("p1");
        assertThat(item.get("revision").asLong()).isEqualTo(1);
        assertThat(item.get("name").asText()).isEqualTo("Policy 1");
        assertThat(item.get("namespace").asText()).isEqualTo("default");
        assertThat(item.get("description").asText()).isEqualTo("d");
        assertThat(item.get("updated_at").asText()).isEqualTo("2024-05-01T12:00:00.000Z");

        JsonNode src = revisionDoc("p1:1").source();
        assertThat(src.get("policy_id").asText()).isEqualTo("p1");
        assertThat(src.get("revision_idx").asLong()).isEqualTo(1);
        assertThat(src.get("@timestamp").asText()).isEqualTo("2024-05-01T12:00:00.000Z");
        assertThat(src.at("/data/id").asText()).isEqualTo("p1");
        assertThat(src.at("/data/revision").asLong()).isEqualTo(1);
        assertThat(src.at("/data/outputs/default/type").asText()).isEqualTo("elasticsearch");
        assertThat(src.at("/data/inputs").isArray()).isTrue();
        assertThat(src.at("/data/inputs")).isEmpty();
    }

    @Test
    void createWithoutAnIdGeneratesOne() throws Exception {
        String id = await(service.createPolicy(json("{\"name\":\"x\"}"))).at("/item/id").asText();

        assertThat(id).matches("[0-9a-f-]{36}");
        assertThat(revisionDoc(id + ":1").source().get("policy_id").asText()).isEqualTo(id);
    }

    @Test
    void createKeepsGivenContent() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"n\",\"inputs\":[{\"id\":\"in\"}],"
                + "\"outputs\":{\"ls\":{\"type\":\"logstash\",\"hosts\":[\"ls:5044\"]}},\"agent\":{\"monitoring\":{\"enabled\":true}}}")));

        JsonNode data = revisionDoc("p1:1").source().get("data");
        assertThat(data.at("/inputs/0/id").asText()).isEqualTo("in");
        assertThat(data.at("/outputs/ls/type").asText()).isEqualTo("logstash");
        assertThat(data.has("outputs") && data.get("outputs").has("default")).isFalse();
        assertThat(data.at("/agent/monitoring/enabled").asBoolean()).isTrue();
    }

    @Test
    void creatingAnExistingPolicyIsAConflict() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"n\"}")));

        FleetException e = failure(() -> service.createPolicy(Json.object().put("id", "p1").put("name", "again")));

        assertThat(e.error()).isEqualTo(FleetError.MANAGEMENT_CONFLICT);
    }

    @Test
    void updateWritesTheNextRevisionOnTopOfTheLatest() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"n\",\"namespace\":\"ns\",\"inputs\":[{\"id\":\"a\"}]}")));

        ObjectNode out = await(service.updatePolicy("p1", json("{\"inputs\":[{\"id\":\"b\"}]}")));

        assertThat(out.at("/item/revision").asLong()).isEqualTo(2);
        JsonNode src = revisionDoc("p1:2").source();
        assertThat(src.get("revision_idx").asLong()).isEqualTo(2);
        assertThat(src.get("name").asText()).isEqualTo("n");
        assertThat(src.get("namespace").asText()).isEqualTo("ns");
        assertThat(src.at("/data/inputs/0/id").asText()).isEqualTo("b");
        assertThat(src.at("/data/revision").asLong()).isEqualTo(2);
        assertThat(src.at("/data/id").asText()).isEqualTo("p1");
        assertThat(src.at("/data/outputs/default/type").asText()).isEqualTo("elasticsearch");
        assertThat(revisionDoc("p1:1").source().at("/data/inputs/0/id").asText()).as("old revision untouched").isEqualTo("a");
    }

    @Test
    void getAnswersTheLatestRevision() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"n\"}")));
        await(service.updatePolicy("p1", json("{\"name\":\"renamed\"}")));

        JsonNode item = await(service.getPolicy("p1")).get("item");

        assertThat(item.get("revision").asLong()).isEqualTo(2);
        assertThat(item.get("name").asText()).isEqualTo("renamed");
        assertThat(item.get("inputs").isArray()).isTrue();
    }

    @Test
    void thePolicyListShowsEachPolicysLatestRevisionHoweverManyRevisionsAreStored() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"One\"}")));
        ObjectNode first = revisionDoc("p1:1").source();
        List<WriteOp> older = new ArrayList<>();
        for (int revision = 2; revision <= 10_001; revision++) {
            older.add(new WriteOp.Create(FleetIndex.POLICIES, "p1:" + revision, first.deepCopy().put("revision_idx", revision)));
        }
        store.bulk(older).get(60, TimeUnit.SECONDS);
        await(service.createPolicy(json("{\"id\":\"p2\",\"name\":\"Two\"}")));
        await(service.updatePolicy("p1", json("{\"name\":\"One, latest\"}")));

        JsonNode listed = service.listPolicies(true).get(60, TimeUnit.SECONDS);

        assertThat(listed.get("total").asInt()).isEqualTo(2);
        assertThat(listed.at("/items/0/id").asText()).isEqualTo("p1");
        assertThat(listed.at("/items/0/revision").asLong()).isEqualTo(10_002);
        assertThat(listed.at("/items/0/name").asText()).isEqualTo("One, latest");
        assertThat(listed.at("/items/1/id").asText()).isEqualTo("p2");
        assertThat(listed.at("/items/0/outputs").isObject()).isTrue();

        JsonNode light = service.listPolicies(false).get(60, TimeUnit.SECONDS);
        assertThat(light.at("/items/0/revision").asLong()).isEqualTo(10_002);
        assertThat(light.at("/items/0/name").asText()).isEqualTo("One, latest");
        assertThat(light.get("items")).allSatisfy(item -> assertThat(item.has("outputs") || item.has("inputs")).isFalse());
    }

    @Test
    void revisionsAreListedHighestFirstAndEachCanBeRead() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"One\"}")));
        await(service.updatePolicy("p1", json("{\"name\":\"Two\",\"agent\":{\"logging\":{\"level\":\"debug\"}}}")));

        JsonNode listed = await(service.listRevisions("p1"));
        assertThat(listed.get("total").asInt()).isEqualTo(2);
        assertThat(listed.at("/items/0/revision").asInt()).isEqualTo(2);
        assertThat(listed.at("/items/0/name").asText()).isEqualTo("Two");
        assertThat(listed.at("/items/1/revision").asInt()).isEqualTo(1);
        assertThat(listed.at("/items/0/inputs").isMissingNode()).as("no content in the listing").isTrue();

        JsonNode first = await(service.getRevision("p1", "1")).get("item");
        assertThat(first.get("name").asText()).isEqualTo("One");
        assertThat(first.has("agent")).isFalse();
        assertThat(await(service.getRevision("p1", "2")).at("/item/agent/logging/level").asText()).isEqualTo("debug");

        assertThat(failure(() -> service.getRevision("p1", "3")).error()).isEqualTo(FleetError.MANAGEMENT_NOT_FOUND);
        assertThat(failure(() -> service.getRevision("p1", "two")).error()).isEqualTo(FleetError.MANAGEMENT_BAD_REQUEST);
        assertThat(failure(() -> service.listRevisions("nope")).error()).isEqualTo(FleetError.MANAGEMENT_NOT_FOUND);
    }

    @Test
    void theRolloutCountsTheActiveAgentsOnEachRevision() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"One\"}")));
        await(service.updatePolicy("p1", json("{\"description\":\"second\"}")));
        await(repo.createAgent("on-latest", Json.object().put("active", true).put("policy_id", "p1").put("policy_revision_idx", 2)));
        await(repo.createAgent("behind", Json.object().put("active", true).put("policy_id", "p1").put("policy_revision_idx", 1)));
        await(repo.createAgent("new", Json.object().put("active", true).put("policy_id", "p1")));
        await(repo.createAgent("gone", Json.object().put("active", false).put("policy_id", "p1").put("policy_revision_idx", 2)));
        await(repo.createAgent("elsewhere", Json.object().put("active", true).put("policy_id", "p2").put("policy_revision_idx", 2)));

        JsonNode rollout = await(service.rollout("p1"));

        assertThat(rollout.get("revision").asInt()).isEqualTo(2);
        assertThat(rollout.get("agents").asInt()).isEqualTo(3);
        assertThat(rollout.get("acked").asInt()).isEqualTo(1);
        assertThat(rollout.get("by_revision").toString()).isEqualTo("{\"2\":1,\"1\":1,\"0\":1}");
        assertThat(failure(() -> service.rollout("nope")).error()).isEqualTo(FleetError.MANAGEMENT_NOT_FOUND);
    }

    @Test
    void unknownPoliciesAreNotFound() throws Exception {
        assertThat(failure(() -> service.getPolicy("nope")).error()).isEqualTo(FleetError.MANAGEMENT_NOT_FOUND);
        assertThat(failure(() -> service.updatePolicy("nope", Json.object().put("name", "x"))).error())
                .isEqualTo(FleetError.MANAGEMENT_NOT_FOUND);
    }

    @Test
    void concurrentUpdatesNeverProduceTheSameRevisionTwice() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"n\"}")));
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<CompletableFuture<ObjectNode>>> started = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String desc = "update-" + i;
                started.add(pool.submit(() -> {
                    go.await();
                    return service.updatePolicy("p1", Json.object().put("description", desc));
                }));
            }
            go.countDown();
            List<Long> revisions = new ArrayList<>();
            for (Future<CompletableFuture<ObjectNode>> f : started) {
                revisions.add(await(f.get(10, TimeUnit.SECONDS)).at("/item/revision").asLong());
            }

            assertThat(revisions).containsExactlyInAnyOrder(2L, 3L, 4L, 5L, 6L);
            List<Long> stored = await(store.search(FleetIndex.POLICIES, Query.where().term("policy_id", "p1")))
                    .stream().map(d -> d.source().get("revision_idx").asLong()).sorted().toList();
            assertThat(stored).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
            for (long r = 1; r <= 6; r++) {
                assertThat(revisionDoc("p1:" + r).source().at("/data/revision").asLong()).isEqualTo(r);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest(name = "create body {0} is a bad request")
    @ValueSource(strings = {
        "{\"name\":\"n\",\"bogus\":1}",
        "{}",
        "{\"name\":\"\"}",
        "{\"name\":\"  \"}",
        "{\"name\":5}",
        "{\"name\":\"n\",\"id\":\"a:b\"}",
        "{\"name\":\"n\",\"id\":\"\"}",
        "{\"name\":\"n\",\"id\":7}",
        "{\"name\":\"n\",\"namespace\":[]}",
        "{\"name\":\"n\",\"inputs\":{}}",
        "{\"name\":\"n\",\"outputs\":[]}",
        "{\"name\":\"n\",\"outputs\":{\"o\":{\"hosts\":[]}}}",
        "{\"name\":\"n\",\"outputs\":{\"o\":\"x\"}}",
        "{\"name\":\"n\",\"agent\":\"x\"}",
        "[]",
        "\"text\"",
    })
    void invalidCreateBodiesAreBadRequests(String body) throws Exception {
        JsonNode parsed = json(body);

        assertThat(failure(() -> service.createPolicy(parsed)).error()).isEqualTo(FleetError.MANAGEMENT_BAD_REQUEST);
        assertThat(await(store.count(FleetIndex.POLICIES, Query.where()))).isZero();
    }

    @Test
    void aMissingBodyIsABadRequest() throws Exception {
        assertThat(failure(() -> service.createPolicy(null)).error()).isEqualTo(FleetError.MANAGEMENT_BAD_REQUEST);
        assertThat(failure(() -> service.updatePolicy("p1", null)).error()).isEqualTo(FleetError.MANAGEMENT_BAD_REQUEST);
    }

    @Test
    void invalidUpdatesAreBadRequestsAndWriteNothing() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"n\"}")));

        for (String body : List.of("{\"id\":\"p2\"}", "{\"bogus\":true}", "{\"inputs\":\"x\"}", "{\"name\":1}")) {
            JsonNode parsed = json(body);
            assertThat(failure(() -> service.updatePolicy("p1", parsed)).error()).as(body)
                    .isEqualTo(FleetError.MANAGEMENT_BAD_REQUEST);
        }
        assertThat(await(store.count(FleetIndex.POLICIES, Query.where()))).isEqualTo(1);
    }

    @Test
    void anUpdateNeedsNoName() throws Exception {
        await(service.createPolicy(json("{\"id\":\"p1\",\"name\":\"n\"}")));

        assertThat(await(service.updatePolicy("p1", json("{\"id\":\"p1\"}"))).at("/item/revision").asLong()).isEqualTo(2);
    }

    @Test
    void concurrentCreatesOfOneIdGiveOneSuccessAndOneConflict() throws Exception {
        BothReadFirstStore racing = new BothReadFirstStore(store);
        FleetRepository racingRepo = new FleetRepository(racing);
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        PolicyAdminService racy = new PolicyAdminService(racingRepo,
                new EnrollmentKeyAdminService(racingRepo, new EmbeddedApiKeys(store), clock), clock, Json.object());

        CompletableFuture<ObjectNode> first = racy.createPolicy(json("{\"id\":\"p1\",\"name\":\"first\"}"));
        CompletableFuture<ObjectNode> second = racy.createPolicy(json("{\"id\":\"p1\",\"name\":\"second\"}"));
        CompletableFuture.allOf(first, second).handle((v, t) -> null).get(10, TimeUnit.SECONDS);

        assertThat(List.of(first, second)).filteredOn(f -> !f.isCompletedExceptionally()).hasSize(1);
        CompletableFuture<ObjectNode> loser = first.isCompletedExceptionally() ? first : second;
        assertThat(failure(() -> loser).error()).isEqualTo(FleetError.MANAGEMENT_CONFLICT);
    }

    /** Holds the results of the first two policy searches until both have been read, so both callers see the same state. */
    private static final class BothReadFirstStore extends DelegatingStore {
        private final AtomicInteger started = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private final CompletableFuture<Void> both = new CompletableFuture<>();

        BothReadFirstStore(DocumentStore delegate) {
            super(delegate);
        }

        @Override
        public CompletableFuture<List<Doc>> search(String index, Query query) {
            if (!index.equals(FleetIndex.POLICIES) || started.incrementAndGet() > 2) {
                return delegate.search(index, query);
            }
            CompletableFuture<List<Doc>> result = delegate.search(index, query);
            result.whenComplete((r, t) -> {
                if (finished.incrementAndGet() == 2) {
                    both.complete(null);
                }
            });
            return result.thenCombine(both, (r, v) -> r);
        }

        @Override
        public void close() {
        }
    }
}
