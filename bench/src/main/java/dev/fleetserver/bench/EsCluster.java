package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The test Elasticsearch node, run by {@code EsNode} (bench's test sources) as a child of the runner: its address and
 * credentials, and what the scenarios do to it (wipe the Fleet indices, seed agents, stop and start the node on the
 * same data, read documents back).
 */
final class EsCluster {
    private static final ObjectMapper LINES = new ObjectMapper();

    final Child child;
    final String uri;
    final String serviceToken;
    final String adminAuthorization;
    final String version;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** EsNode's event lines after the first ({@code es-node} state changes). */
    private final BlockingQueue<JsonNode> events;

    private EsCluster(Child child, JsonNode ready, BlockingQueue<JsonNode> events) {
        this.child = child;
        this.uri = ready.path("uri").asText();
        this.serviceToken = ready.path("serviceToken").asText();
        this.adminAuthorization = ready.path("adminAuthorization").asText();
        this.version = ready.path("version").asText();
        this.events = events;
    }

    /**
     * Starts a fresh node ({@code heap}: its -Xms/-Xmx; {@code classpath}: bench's and the es module's test classes)
     * and waits (at most 180 s) until it is ready; it stops after three hours at the latest.
     */
    static EsCluster start(Path work, String heap, String classpath) throws Exception {
        BlockingQueue<JsonNode> lines = new LinkedBlockingQueue<>();
        List<String> cmd = List.of(BenchRunner.java(), "-Dfleet.es.heap=" + heap, "-cp", classpath,
                "dev.fleetserver.bench.EsNode", Long.toString(TimeUnit.HOURS.toSeconds(3)));
        Child child = new Child("es", cmd, work.resolve("logs").resolve("es-node.log"), l -> {
            if (l.startsWith("{\"event\":\"es")) {
                try {
                    lines.add(LINES.readTree(l));
                } catch (IOException e) {
                    // Not one of EsNode's lines.
                }
            }
        });
        JsonNode ready = lines.poll(180, TimeUnit.SECONDS);
        if (ready == null) {
            child.close(30);
            throw new IllegalStateException("Elasticsearch did not start; see " + work.resolve("logs/es-node.log"));
        }
        EsCluster e = new EsCluster(child, ready, lines);
        BenchRunner.log("Elasticsearch " + e.version + " at " + e.uri);
        return e;
    }


    /**
     * The work done so far on the Fleet indices (all shards, so what the cluster really did): documents indexed
     * (updates included), searches (queries), gets (each document of an {@code _mget}), refreshes, bulk operations;
     * counters, to be differenced.
     */
    ObjectNode fleetWork() throws Exception {
        HttpResponse<String> res = send("GET", "/.fleet-*/_stats/indexing,search,get,refresh,bulk?expand_wildcards=all", null);
        if (res.statusCode() != 200) {
            throw new IllegalStateException("index stats answered " + res.statusCode() + ": " + res.body());
        }
        JsonNode total = LINES.readTree(res.body()).path("_all").path("total");
        ObjectNode o = LINES.createObjectNode();
        o.put("docsIndexed", total.path("indexing").path("index_total").asLong());
        o.put("searches", total.path("search").path("query_total").asLong());
        o.put("gets", total.path("get").path("total").asLong());
        o.put("refreshes", total.path("refresh").path("total").asLong());
        o.put("bulkRequests", total.path("bulk").path("total_operations").asLong());
        return o;
    }

    /** Deletes the Fleet indices left by the previous run, so every run starts from an empty cluster. */
    void wipeFleetIndices() throws Exception {
        HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(uri
                + "/_cat/indices/.fleet-*?h=index&format=json&expand_wildcards=all"))
                .header("Authorization", adminAuthorization).timeout(Duration.ofSeconds(60)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        List<String> names = new ArrayList<>();
        LINES.readTree(res.body()).forEach(i -> names.add(i.path("index").asText()));
        if (names.isEmpty()) {
            return;
        }
        HttpResponse<String> del = http.send(HttpRequest.newBuilder(URI.create(uri + "/" + String.join(",", names)
                + "?expand_wildcards=all")).header("Authorization", adminAuthorization)
                .timeout(Duration.ofSeconds(60)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
        BenchRunner.log("deleted " + names + ": " + del.statusCode());
        if (del.statusCode() != 200) {
            throw new IllegalStateException("could not delete the Fleet indices: " + del.body());
        }
    }

    /**
     * Creates {@code agents} agents the way enrollment does, straight in Elasticsearch: an API key each (the
     * access key's role descriptors and metadata, {@code refresh=false}, 64 in flight) and the
     * {@code .fleet-agents} documents (bulk, 1 000 a request); writes {@code credentials-g<i>.txt} per generator
     * in {@code dir} (the generators' shares, in order).
     */
    void seed(int agents, int generators, Path dir) throws Exception {
        HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        String[] ids = new String[agents];
        String[] keys = new String[agents];
        String[] keyIds = new String[agents];
        java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(64);
        java.util.concurrent.atomic.AtomicReference<String> failure = new java.util.concurrent.atomic.AtomicReference<>();
        long lastLog = System.nanoTime();
        for (int i = 0; i < agents && failure.get() == null; i++) {
            String id = java.util.UUID.randomUUID().toString();
            ids[i] = id;
            ObjectNode body = LINES.createObjectNode();
            body.put("name", id);
            ObjectNode app = body.putObject("role_descriptors").putObject("fleet-apikey-access");
            app.putArray("cluster");
            ObjectNode a = app.putArray("applications").addObject();
            a.put("application", "fleet");
            a.putArray("privileges").add("no-privileges");
            a.putArray("resources").add("*");
            body.putObject("metadata").put("agent_id", id).put("managed", true).put("managed_by", "fleet-server")
                    .put("type", "access");
            inFlight.acquire();
            int at = i;
            // Made by the fleet-server service account, as enrollment makes them: the keys are then its own.
            c.sendAsync(HttpRequest.newBuilder(URI.create(uri + "/_security/api_key?refresh=false"))
                    .header("Authorization", "Bearer " + serviceToken).header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                    HttpResponse.BodyHandlers.ofString()).whenComplete((r, t) -> {
                        try {
                            if (t != null || r.statusCode() != 200) {
                                failure.compareAndSet(null, t != null ? t.toString() : r.statusCode() + " " + r.body());
                                return;
                            }
                            JsonNode j = LINES.readTree(r.body());
                            keys[at] = j.path("encoded").asText();
                            keyIds[at] = j.path("id").asText();
                        } catch (IOException e) {
                            failure.compareAndSet(null, e.toString());
                        } finally {
                            inFlight.release();
                        }
                    });
            if (System.nanoTime() - lastLog > TimeUnit.SECONDS.toNanos(10)) {
                lastLog = System.nanoTime();
                BenchRunner.log("  seeding: " + i + " API keys");
            }
        }
        if (!inFlight.tryAcquire(64, 180, TimeUnit.SECONDS) || failure.get() != null) {
            throw new IllegalStateException("seeding API keys failed: " + failure.get());
        }
        inFlight.release(64);
        String enrolledAt = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        String updatedAt = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString();
        for (int from = 0; from < agents; from += 1000) {
            StringBuilder bulk = new StringBuilder();
            for (int i = from; i < Math.min(agents, from + 1000); i++) {
                bulk.append("{\"create\":{\"_index\":\".fleet-agents\",\"_id\":\"").append(ids[i]).append("\"}}\n");
                ObjectNode d = LINES.createObjectNode();
                d.put("active", true);
                d.put("policy_id", "default");
                d.put("policy_base_id", "default");
                d.put("type", "PERMANENT");
                d.put("enrolled_at", enrolledAt);
                d.put("updated_at", updatedAt);
                ObjectNode local = d.putObject("local_metadata");
                local.putObject("elastic").putObject("agent").put("id", ids[i]).put("version", "9.6.0");
                local.putObject("host").put("hostname", "bench-seeded-" + i);
                d.put("access_api_key_id", keyIds[i]);
                d.putArray("action_seq_no").add(-1);
                d.putObject("agent").put("id", ids[i]).put("version", "9.6.0");
                d.putArray("tags");
                bulk.append(d).append('\n');
            }
            HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(uri + "/_bulk"))
                    .header("Authorization", adminAuthorization).header("Content-Type", "application/x-ndjson")
                    .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofString(bulk.toString())).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200 || LINES.readTree(r.body()).path("errors").asBoolean()) {
                throw new IllegalStateException("seeding .fleet-agents failed: " + r.body().substring(0, Math.min(500, r.body().length())));
            }
        }
        c.send(HttpRequest.newBuilder(URI.create(uri + "/.fleet-agents/_refresh")).header("Authorization", adminAuthorization)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        // The generators' shares, as runOnce splits them.
        int start = 0;
        for (int g = 0; g < generators; g++) {
            int share = agents / generators + (g < agents % generators ? 1 : 0);
            StringBuilder f = new StringBuilder();
            for (int i = start; i < start + share; i++) {
                f.append(ids[i]).append(' ').append(keys[i]).append('\n');
            }
            Files.writeString(dir.resolve("credentials-g" + g + ".txt"), f);
            start += share;
        }
    }

    /** Stops the node, keeping its data and ports (EsNode's {@code stop-node}); returns when it is gone. */
    void stopNode(long timeoutSeconds) throws Exception {
        nodeCommand("stop-node", "stopped", timeoutSeconds);
    }

    /** Starts the node stopped by {@link #stopNode} again; returns when it is ready (security index, service token). */
    void startNode(long timeoutSeconds) throws Exception {
        nodeCommand("start-node", "started", timeoutSeconds);
    }

    private void nodeCommand(String command, String expected, long timeoutSeconds) throws Exception {
        events.clear();
        child.send(command);
        JsonNode e = events.poll(timeoutSeconds, TimeUnit.SECONDS);
        if (e == null || !expected.equals(e.path("state").asText())) {
            throw new IllegalStateException(command + " did not complete: " + e);
        }
    }

    /** Makes everything written to {@code indices} so far visible to searches. */
    void refresh(String indices) throws Exception {
        HttpResponse<String> r = send("POST", "/" + indices + "/_refresh?expand_wildcards=all&ignore_unavailable=true", null);
        if (r.statusCode() != 200) {
            throw new IllegalStateException("refresh of " + indices + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    /**
     * Every document of {@code index} matching {@code query} (a query DSL object), with only {@code fields} of its
     * source, read with a scroll of 5 000 at a time; each hit is {@code {"_id", "_source"}}. A missing index has none.
     */
    List<JsonNode> searchAll(String index, String query, List<String> fields) throws Exception {
        ObjectNode body = LINES.createObjectNode();
        body.put("size", 5000);
        body.set("query", LINES.readTree(query));
        fields.forEach(body.putArray("_source")::add);
        HttpResponse<String> r = send("POST", "/" + index + "/_search?scroll=1m&expand_wildcards=all&ignore_unavailable=true",
                body.toString());
        List<JsonNode> out = new ArrayList<>();
        while (true) {
            if (r.statusCode() == 404) {
                return out;
            }
            if (r.statusCode() != 200) {
                throw new IllegalStateException("search of " + index + " answered " + r.statusCode() + ": " + r.body());
            }
            JsonNode res = LINES.readTree(r.body());
            JsonNode hits = res.path("hits").path("hits");
            hits.forEach(out::add);
            String scroll = res.path("_scroll_id").asText("");
            if (hits.isEmpty() || scroll.isEmpty()) {
                if (!scroll.isEmpty()) {
                    send("DELETE", "/_search/scroll", LINES.createObjectNode().put("scroll_id", scroll).toString());
                }
                return out;
            }
            r = send("POST", "/_search/scroll", LINES.createObjectNode().put("scroll", "1m").put("scroll_id", scroll).toString());
        }
    }

    private HttpResponse<String> send(String method, String path, String json) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(uri + path)).header("Authorization", adminAuthorization)
                .timeout(Duration.ofSeconds(120));
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
