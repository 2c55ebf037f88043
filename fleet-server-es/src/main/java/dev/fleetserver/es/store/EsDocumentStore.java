package dev.fleetserver.es.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.Batcher;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsFailures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The document-store port on Elasticsearch. Reads go through {@code _mget} and {@code _msearch}, writes through
 * {@code _bulk}, all batched by {@link Batcher}s. Checkpoints are the primary shard's global checkpoint: followed
 * with the Fleet plugin's {@code _fleet/global_checkpoints} long poll when the cluster has it, by polling
 * {@code _stats} otherwise. Missing indices read as empty.
 *
 * <h2>When writes become searchable</h2>
 * <ul>
 *   <li>Priority writes (policies, actions, enrollment keys: what change feeds and deliveries search for) are sent
 *       with {@code refresh=true}: searchable everywhere once acknowledged.</li>
 *   <li>High-volume writes (agents, action results: a group with any of them) are sent without {@code refresh}:
 *       forcing one per bulk made Elasticsearch spend its CPU refreshing and merging tiny segments. Elasticsearch
 *       makes them searchable at its next periodic refresh (Kibana's view); {@link #get} sees them at once
 *       ({@code _mget} is realtime).</li>
 *   <li>Searches through this store ({@link #search}, {@link #count}, {@link #changesAfter}) still see every write
 *       this store acknowledged before the search was called: such a write marks its index dirty before its future
 *       completes, and a search on a dirty index first waits for one {@code POST /<index>/_refresh} sent after the
 *       mark (shared by concurrent searches, see {@link SearchVisibility}). A write still in flight when the search
 *       is called may or may not be seen. A search on a clean index costs no refresh. Indices are tracked by the
 *       name used in the call: a write and a search must name the index the same way.</li>
 *   <li>High-volume writes by other processes become searchable here at Elasticsearch's periodic refresh.
 *       After {@link #awaitCheckpointAfter} sees the checkpoint move, the index is refreshed, so the
 *       {@link #changesAfter} that follows sees everything up to the checkpoint whoever wrote it.</li>
 * </ul>
 */
public final class EsDocumentStore implements DocumentStore {
    private static final Logger LOG = LoggerFactory.getLogger(EsDocumentStore.class);
    /**
     * The Fleet indices, created from our mappings when missing (never touched when present). Not
     * {@code .fleet-secrets}: Elasticsearch's Fleet plugin owns it and the service account may only read it.
     */
    public static final List<String> FLEET_INDICES = List.of(".fleet-agents", ".fleet-actions", ".fleet-actions-results",
            ".fleet-policies", ".fleet-enrollment-api-keys", ".fleet-artifacts");
    private static final Duration CHECKPOINT_POLL = Duration.ofMillis(250);

    private final EsClient client;
    private final ScheduledExecutorService timer;
    private final Batcher<WriteItem> writes;
    /** Writes of policies, actions, keys: few, and what agents wait for, so they never queue behind status writes. */
    private final Batcher<WriteItem> priorityWrites;
    private final Batcher<GetItem> gets;
    private final Batcher<GetItem> pacedGets;
    private final Batcher<SearchItem> searches;
    private final Set<String> preparedIndices = ConcurrentHashMap.newKeySet();
    /** Which indices are high-volume: their writes take the ordinary queue and are sent without refresh. */
    private final Predicate<String> highVolume;
    private final SearchVisibility visibility = new SearchVisibility(this::refresh);
    private volatile Boolean fleetPlugin;
    private volatile boolean closed;

    /**
     * Batching knobs ({@code inputs[0].server.bulk.*} in the original).
     *
     * @param readPace while paced reads ({@link #getPaced}) arrive fast, the least time between two of their
     *                 {@code _mget}s: the agent read of every agent request waits at most this long to share a request
     *                 with the others of that moment (the original batches every read and write every 250 ms); other
     *                 reads are never paced, so a chain of dependent reads is not slowed by a busy fleet
     */
    public record BulkSettings(Duration flushInterval, int maxItems, long maxBytes, int maxInFlight, Duration readPace) {
        public static BulkSettings defaults() {
            return new BulkSettings(Duration.ZERO, 2048, 1024 * 1024, 8, Duration.ofMillis(250));
        }
    }

    public EsDocumentStore(EsClient client, BulkSettings bulk) {
        this(client, bulk, index -> index.equals(FleetIndex.AGENTS) || index.equals(FleetIndex.ACTION_RESULTS));
    }

    /** With another choice of high-volume indices: lets tests put their own indices on the unrefreshed path. */
    EsDocumentStore(EsClient client, BulkSettings bulk, Predicate<String> highVolume) {
        this.client = client;
        this.highVolume = highVolume;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleet-es-timer");
            t.setDaemon(true);
            return t;
        });
        this.writes = new Batcher<>("bulk", batch -> flushWrites(batch, false), timer, bulk.flushInterval(), bulk.maxItems(), bulk.maxBytes(), bulk.maxInFlight());
        this.priorityWrites = new Batcher<>("bulk-priority", batch -> flushWrites(batch, true), timer, Duration.ZERO, bulk.maxItems(),
                bulk.maxBytes(), Math.max(1, bulk.maxInFlight() / 4));
        this.gets = new Batcher<>("mget", this::flushGets, timer, bulk.flushInterval(), bulk.maxItems(), bulk.maxBytes(),
                bulk.maxInFlight());
        this.pacedGets = new Batcher<>("mget-paced", this::flushGets, timer, bulk.flushInterval(), bulk.maxItems(),
                bulk.maxBytes(), bulk.maxInFlight(), bulk.readPace());
        this.searches = new Batcher<>("msearch", this::flushSearches, timer, bulk.flushInterval(), bulk.maxItems(),
                bulk.maxBytes(), bulk.maxInFlight());
    }

    /** Creates the Fleet indices that do not exist yet, from {@code /mappings/<index>.json}. */
    public CompletableFuture<Void> ensureFleetIndices() {
        CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
        for (String index : FLEET_INDICES) {
            all = all.thenCompose(v -> createIfMissing(index, mappingFor(index)).exceptionally(t -> {
                // Not allowed to create it (a locked-down cluster): carry on, writes will say what is wrong.
                if (String.valueOf(t.getMessage()).contains("403")) {
                    LOG.warn("index {} is missing and may not be created: {}", index, t.getMessage());
                    return null;
                }
                throw t instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(t);
            }));
        }
        return all.thenCompose(v -> ensureFileTemplates());
    }

    /**
     * The index templates of the data streams Kibana writes files for agents into, as Elasticsearch's Fleet plugin
     * installs them (without its lifecycle policies): {@code .fleet-fileds-tohost-meta} and
     * {@code .fleet-fileds-tohost-data}.
     */
    public static final List<String> FILE_TEMPLATES = List.of(".fleet-fileds-tohost-meta", ".fleet-fileds-tohost-data");

    /** The body of {@code PUT _index_template/<name>} for one of {@link #FILE_TEMPLATES}. */
    public static ObjectNode templateFor(String name) {
        try (InputStream in = EsDocumentStore.class.getResourceAsStream("/templates/" + name + ".json")) {
            if (in == null) {
                throw new IllegalArgumentException("no template " + name);
            }
            return (ObjectNode) Json.MAPPER.readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException("bad template resource for " + name, e);
        }
    }

    /**
     * Installs the file-delivery templates that are missing, where the service account may (a cluster with the
     * Fleet plugin has them already; the {@code elastic/fleet-server} account usually may not manage templates, and
     * then nothing is done): without them, documents written to those data streams would get dynamic mappings that
     * delivery cannot search.
     */
    public CompletableFuture<Void> ensureFileTemplates() {
        CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
        for (String name : FILE_TEMPLATES) {
            all = all.thenCompose(v -> client.send(EsClient.Request.write("PUT", "/_index_template/" + enc(name) + "?create=true",
                    Json.bytes(templateFor(name)))).thenAccept(r -> {
                if (r.ok()) {
                    LOG.info("created index template {}", name);
                } else if (r.status() == 400 && r.describe().contains("already exists")) {
                    LOG.debug("index template {} exists", name);
                } else {
                    LOG.debug("index template {} not created ({}); file delivery relies on the cluster's own", name, r.describe());
                }
            }));
        }
        return all;
    }

    static ObjectNode mappingFor(String index) {
        try (InputStream in = EsDocumentStore.class.getResourceAsStream("/mappings/" + index + ".json")) {
            if (in != null) {
                return (ObjectNode) Json.MAPPER.readTree(in);
            }
        } catch (IOException e) {
            throw new IllegalStateException("bad mapping resource for " + index, e);
        }
        // Any other index (tests, future ones): strings as keywords, so term queries and sorts behave like ours.
        ObjectNode body = Json.object();
        ObjectNode strings = body.putObject("mappings").putArray("dynamic_templates").addObject().putObject("strings");
        strings.put("match_mapping_type", "string");
        strings.putObject("mapping").put("type", "keyword");
        return body;
    }

    /**
     * Creates the index with {@code body} unless it exists. Only {@code create_index} is needed (the fleet-server
     * service account has no {@code view_index_metadata} outside {@code .fleet-*}), and an existing index is never
     * touched: "already exists" is success.
     */
    private CompletableFuture<Void> createIfMissing(String index, ObjectNode body) {
        return client.send(EsClient.Request.write("PUT", "/" + enc(index), Json.bytes(body))).thenAccept(created -> {
            if (created.ok()) {
                LOG.info("created index {}", index);
            } else if (!"resource_already_exists_exception".equals(created.errorType())) {
                throw EsFailures.of(created.status(), "cannot create index " + index + ": " + created.describe());
            }
            preparedIndices.add(index);
        });
    }

    // --- reads ---

    @Override
    public CompletableFuture<Optional<Doc>> get(String index, String id) {
        GetItem item = new GetItem(index, id, new CompletableFuture<>());
        gets.add(item);
        return item.future;
    }

    @Override
    public CompletableFuture<Optional<Doc>> getPaced(String index, String id) {
        GetItem item = new GetItem(index, id, new CompletableFuture<>());
        pacedGets.add(item);
        return item.future;
    }

    @Override
    public CompletableFuture<List<Doc>> search(String index, Query query) {
        if (query.from() >= QueryDsl.MAX_WINDOW) {
            return CompletableFuture.completedFuture(List.of());
        }
        SearchItem item = new SearchItem(index, QueryDsl.search(query), new CompletableFuture<>());
        return searchWhenVisible(item).thenApply(r -> hits(index, r));
    }

    @Override
    public CompletableFuture<Long> count(String index, Query query) {
        SearchItem item = new SearchItem(index, QueryDsl.count(query), new CompletableFuture<>());
        return searchWhenVisible(item).thenApply(r -> r.path("hits").path("total").path("value").asLong(0));
    }

    /** Queues the search once the writes acknowledged so far are searchable (see the class comment). */
    private CompletableFuture<JsonNode> searchWhenVisible(SearchItem item) {
        return visibility.awaitVisible(item.index).thenCompose(v -> {
            searches.add(item);
            return item.future;
        });
    }

    @Override
    public CompletableFuture<List<Doc>> changesAfter(String index, long afterSeqNo, long upToSeqNo, int size) {
        if (upToSeqNo <= afterSeqNo) {
            return CompletableFuture.completedFuture(List.of());
        }
        return search(index, Query.where().seqNoAfter(afterSeqNo).seqNoAtMost(upToSeqNo).sortAsc(Query.SEQ_NO).size(size));
    }

    @Override
    public CompletableFuture<Long> checkpoint(String index) {
        return client.send(EsClient.Request.get("/" + enc(index) + "/_stats/docs?level=shards")).thenApply(r -> {
            if (r.status() == 404) {
                return -1L;
            }
            if (!r.ok()) {
                throw new StoreException.Unavailable("checkpoint of " + index + ": " + r.describe(), null);
            }
            return primaryGlobalCheckpoint(r.json());
        });
    }

    static long primaryGlobalCheckpoint(JsonNode stats) {
        long best = -1;
        for (JsonNode idx : stats.path("indices")) {
            for (JsonNode copies : idx.path("shards")) {
                for (JsonNode copy : copies) {
                    if (copy.path("routing").path("primary").asBoolean(false)) {
                        best = Math.max(best, copy.path("seq_no").path("global_checkpoint").asLong(-1));
                    }
                }
            }
        }
        return best;
    }

    @Override
    public CompletableFuture<Long> awaitCheckpointAfter(String index, long knownCheckpoint, Duration timeout) {
        CompletableFuture<Long> result = new CompletableFuture<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        if (Boolean.FALSE.equals(fleetPlugin)) {
            pollCheckpoint(index, knownCheckpoint, deadline, result);
        } else {
            waitWithFleetPlugin(index, knownCheckpoint, timeout, deadline, result);
        }
        // Once the checkpoint moved, make everything up to it visible to searches, whoever wrote it and however
        // (Kibana or another Fleet Server may not refresh): a refresh sent now covers every write the checkpoint does.
        return result.thenCompose(cp -> cp > knownCheckpoint
                ? visibility.refreshNow(index).thenApply(v -> cp) : CompletableFuture.completedFuture(cp));
    }

    /**
     * The Fleet plugin's long poll: one request that returns when the checkpoint passes {@code known} or the timeout
     * ends. A cluster without the plugin answers "no handler": remember that and poll {@code _stats} from then on.
     */
    private void waitWithFleetPlugin(String index, long known, Duration timeout, long deadline, CompletableFuture<Long> result) {
        String path = "/" + enc(index) + "/_fleet/global_checkpoints?wait_for_advance=true&wait_for_index=true&checkpoints="
                + known + "&timeout=" + timeout.toMillis() + "ms";
        client.send(EsClient.Request.get(path).withTimeout(timeout.plusSeconds(30))).whenComplete((r, t) -> {
            if (t != null) {
                result.completeExceptionally(t);
                return;
            }
            if (r.ok()) {
                fleetPlugin = Boolean.TRUE;
                JsonNode cps = r.json().path("global_checkpoints");
                result.complete(cps.isArray() && !cps.isEmpty() ? cps.get(0).asLong(known) : known);
            } else if (r.status() == 504 || "timeout_exception".equals(r.errorType())) {
                result.complete(known);
            } else if (!Boolean.TRUE.equals(fleetPlugin) && (r.status() == 400 || r.status() == 404 || r.status() == 405)) {
                // Every feed asks at its start, so several such answers may arrive: each falls back, one logs.
                if (fleetPlugin == null) {
                    LOG.info("no Fleet plugin in this cluster ({}): following checkpoints by polling _stats", r.describe());
                }
                fleetPlugin = Boolean.FALSE;
                pollCheckpoint(index, known, deadline, result);
            } else {
                result.completeExceptionally(new StoreException.Unavailable("global checkpoints of " + index + ": " + r.describe(), null));
            }
        });
    }

    private void pollCheckpoint(String index, long known, long deadline, CompletableFuture<Long> result) {
        if (closed) {
            result.completeExceptionally(new StoreException.Unavailable("store closed", null));
            return;
        }
        checkpoint(index).whenComplete((cp, t) -> {
            if (t != null) {
                result.completeExceptionally(t);
            } else if (cp > known || System.nanoTime() >= deadline) {
                result.complete(cp);
            } else {
                long wait = Math.min(CHECKPOINT_POLL.toNanos(), Math.max(0, deadline - System.nanoTime()));
                timer.schedule(() -> pollCheckpoint(index, known, deadline, result), wait, TimeUnit.NANOSECONDS);
            }
        });
    }

    private CompletableFuture<Void> refresh(String index) {
        return client.send(EsClient.Request.read("POST", "/" + enc(index) + "/_refresh?ignore_unavailable=true", null))
                .thenAccept(r -> {
                    if (!r.ok() && r.status() != 404) {
                        throw new StoreException.Unavailable("refresh of " + index + ": " + r.describe(), null);
                    }
                });
    }

    // --- writes ---

    @Override
    public CompletableFuture<List<WriteResult>> bulk(List<WriteOp> ops) {
        List<CompletableFuture<WriteResult>> results = new ArrayList<>(ops.size());
        CompletableFuture<Void> ready = CompletableFuture.completedFuture(null);
        for (WriteOp op : ops) {
            if (!preparedIndices.contains(op.index())) {
                String index = op.index();
                ready = ready.thenCompose(v -> preparedIndices.contains(index)
                        ? CompletableFuture.completedFuture(null)
                        : createIfMissing(index, mappingFor(index)));
            }
        }
        return ready.thenCompose(v -> {
            List<WriteItem> items = new ArrayList<>(ops.size());
            for (WriteOp op : ops) {
                if (op.id() != null && op.id().getBytes(StandardCharsets.UTF_8).length > DocumentIds.MAX_BYTES) {
                    // Elasticsearch would refuse the whole _bulk, failing every write batched with this one.
                    results.add(CompletableFuture.completedFuture(new WriteResult(op.id(), -1, new StoreException(
                            "write to " + op.index() + ": id longer than " + DocumentIds.MAX_BYTES + " bytes"))));
                    continue;
                }
                WriteItem item = WriteItem.of(op);
                items.add(item);
                results.add(item.future);
            }
            (isHighVolume(ops) ? writes : priorityWrites).addAll(items);
            return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                    .thenApply(x -> results.stream().map(CompletableFuture::join).toList());
        });
    }

    /**
     * Agent status and action results are the high-volume writes (one per agent per checkin or ack); a group with
     * any of them takes the ordinary queue (sent without refresh), anything else (a policy revision, an action, an
     * enrollment key) the priority one (refreshed), so that a fan-out is not delayed behind thousands of status
     * updates.
     */
    private boolean isHighVolume(List<WriteOp> ops) {
        for (WriteOp op : ops) {
            if (highVolume.test(op.index())) {
                return true;
            }
        }
        return false;
    }

    // --- flushes ---

    /**
     * Sends one {@code _bulk}. Without {@code refresh}, every index in the batch is marked dirty once Elasticsearch
     * answered (or the request failed: the writes may have landed anyway), before any item's future completes.
     */
    private CompletableFuture<Void> flushWrites(List<WriteItem> batch, boolean refresh) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (WriteItem i : batch) {
            body.writeBytes(i.action);
            body.write('\n');
            if (i.source != null) {
                body.writeBytes(i.source);
                body.write('\n');
            }
        }
        return client.send(EsClient.Request.write("POST", refresh ? "/_bulk?refresh=true" : "/_bulk", body.toByteArray()).ndjson())
                .whenComplete((r, t) -> {
                    if (!refresh) {
                        batch.stream().map(i -> i.index).distinct().forEach(visibility::written);
                    }
                })
                .thenAccept(r -> {
                    if (!r.ok()) {
                        StoreException e = EsFailures.of(r.status(), r.describe());
                        batch.forEach(i -> i.fail(e));
                        return;
                    }
                    JsonNode items = r.json().path("items");
                    for (int k = 0; k < batch.size(); k++) {
                        JsonNode result = items.path(k);
                        batch.get(k).complete(result.isObject() && result.size() == 1 ? result.elements().next() : result);
                    }
                });
    }

    private CompletableFuture<Void> flushGets(List<GetItem> batch) {
        ObjectNode body = Json.object();
        var docs = body.putArray("docs");
        for (GetItem i : batch) {
            docs.addObject().put("_index", i.index).put("_id", i.id);
        }
        return client.send(EsClient.Request.read("POST", "/_mget", Json.bytes(body))).thenAccept(r -> {
            if (!r.ok()) {
                StoreException e = EsFailures.of(r.status(), r.describe());
                batch.forEach(i -> i.fail(e));
                return;
            }
            JsonNode out = r.json().path("docs");
            for (int k = 0; k < batch.size(); k++) {
                GetItem i = batch.get(k);
                JsonNode d = out.path(k);
                if (d.path("found").asBoolean(false)) {
                    i.future.complete(Optional.of(doc(i.index, d)));
                } else if (d.has("error") && !"index_not_found_exception".equals(d.path("error").path("type").asText())) {
                    // A document-level error of _mget is a shard that could not answer: an outage.
                    i.future.completeExceptionally(new StoreException.Unavailable("get " + i.index + "/" + i.id + ": "
                            + d.path("error").path("type").asText() + ": " + d.path("error").path("reason").asText(), null));
                } else {
                    i.future.complete(Optional.empty());
                }
            }
        });
    }

    private CompletableFuture<Void> flushSearches(List<SearchItem> batch) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (SearchItem i : batch) {
            ObjectNode header = Json.object();
            header.put("index", i.index);
            header.put("ignore_unavailable", true);
            header.put("allow_no_indices", true);
            body.writeBytes(Json.bytes(header));
            body.write('\n');
            body.writeBytes(Json.bytes(i.body));
            body.write('\n');
        }
        return client.send(EsClient.Request.read("POST", "/_msearch", body.toByteArray()).ndjson()).thenAccept(r -> {
            if (!r.ok()) {
                StoreException e = EsFailures.of(r.status(), r.describe());
                batch.forEach(i -> i.fail(e));
                return;
            }
            JsonNode responses = r.json().path("responses");
            for (int k = 0; k < batch.size(); k++) {
                JsonNode one = responses.path(k);
                if (one.has("error")) {
                    String type = one.path("error").path("type").asText();
                    if ("index_not_found_exception".equals(type)) {
                        batch.get(k).future.complete(Json.object());
                    } else {
                        JsonNode shardReason = one.path("error").path("failed_shards").path(0).path("reason");
                        batch.get(k).future.completeExceptionally(EsFailures.of(one.path("status").asInt(500),
                                "search " + batch.get(k).index + ": " + one.path("error").path("reason").asText(type)
                                + (shardReason.isMissingNode() ? "" : " (" + shardReason.path("reason").asText() + ")")));
                    }
                } else {
                    batch.get(k).future.complete(one);
                }
            }
        });
    }

    private static List<Doc> hits(String index, JsonNode response) {
        List<Doc> out = new ArrayList<>();
        for (JsonNode h : response.path("hits").path("hits")) {
            out.add(doc(index, h));
        }
        return out;
    }

    /** A hit or mget doc; the index is reported by the alias name we asked for, not the concrete index. */
    private static Doc doc(String index, JsonNode h) {
        JsonNode src = h.path("_source");
        return new Doc(index, h.path("_id").asText(), h.path("_seq_no").asLong(-1), h.path("_primary_term").asLong(1),
                src instanceof ObjectNode o ? o : Json.object());
    }

    /** {@code s} encoded for use as one segment of a request path. */
    public static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
    }

    // --- items ---

    private record GetItem(String index, String id, CompletableFuture<Optional<Doc>> future) implements Batcher.Item {
        @Override
        public int size() {
            return index.length() + id.length() + 32;
        }

        @Override
        public void fail(Throwable t) {
            future.completeExceptionally(t);
        }
    }

    private record SearchItem(String index, ObjectNode body, CompletableFuture<JsonNode> future) implements Batcher.Item {
        @Override
        public int size() {
            return 256;
        }

        @Override
        public void fail(Throwable t) {
            future.completeExceptionally(t);
        }
    }

    private static final class WriteItem implements Batcher.Item {
        final String index;
        final String id;
        final byte[] action;
        final byte[] source;
        final boolean delete;
        final CompletableFuture<WriteResult> future = new CompletableFuture<>();

        private WriteItem(String index, String id, byte[] action, byte[] source, boolean delete) {
            this.index = index;
            this.id = id;
            this.action = action;
            this.source = source;
            this.delete = delete;
        }

        static WriteItem of(WriteOp op) {
            ObjectNode action = Json.object();
            ObjectNode meta;
            byte[] source = null;
            if (op instanceof WriteOp.Create c) {
                meta = action.putObject("create");
                source = Json.bytes(c.source());
            } else if (op instanceof WriteOp.Put p) {
                meta = action.putObject("index");
                if (p.ifSeqNo() >= 0) {
                    meta.put("if_seq_no", p.ifSeqNo());
                    meta.put("if_primary_term", p.ifPrimaryTerm() >= 0 ? p.ifPrimaryTerm() : 1);
                }
                source = Json.bytes(p.source());
            } else if (op instanceof WriteOp.Update u) {
                meta = action.putObject("update");
                if (u.ifSeqNo() >= 0) {
                    meta.put("if_seq_no", u.ifSeqNo());
                    meta.put("if_primary_term", u.ifPrimaryTerm() >= 0 ? u.ifPrimaryTerm() : 1);
                }
                ObjectNode body = Json.object();
                body.set("doc", u.partial());
                // Every successful write must move the sequence number, as the port promises.
                body.put("detect_noop", false);
                source = Json.bytes(body);
            } else {
                meta = action.putObject("delete");
            }
            meta.put("_index", op.index());
            meta.put("_id", op.id());
            return new WriteItem(op.index(), op.id(), Json.bytes(action), source, op instanceof WriteOp.Delete);
        }

        @Override
        public int size() {
            return action.length + (source == null ? 0 : source.length);
        }

        @Override
        public void fail(Throwable t) {
            StoreException e = t instanceof StoreException s ? s : new StoreException.Unavailable(String.valueOf(t.getMessage()), t);
            future.complete(new WriteResult(id, -1, e));
        }

        void complete(JsonNode result) {
            int status = result.path("status").asInt(500);
            if (status >= 200 && status < 300) {
                future.complete(new WriteResult(id, delete ? -1 : result.path("_seq_no").asLong(-1), null));
                return;
            }
            String reason = result.path("error").path("type").asText("") + ": " + result.path("error").path("reason").asText("");
            StoreException e = status == 404 || status == 409 || EsFailures.outage(status)
                    ? EsFailures.of(status, reason)
                    : new StoreException("write " + id + " failed with " + status + ": " + reason);
            future.complete(new WriteResult(id, -1, e));
        }
    }
}
