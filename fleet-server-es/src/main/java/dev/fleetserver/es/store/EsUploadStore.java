package dev.fleetserver.es.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.upload.UploadInfo;
import dev.fleetserver.core.upload.UploadStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsFailures;
import dev.fleetserver.es.client.EsResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads on Elasticsearch, where the original keeps them and Kibana reads them: the metadata document
 * {@code <action_id>.<agent_id>} in {@code .fleet-fileds-fromhost-meta-<src>} and the chunks, CBOR documents
 * {@code <action_id>.<agent_id>.<n>} ({@link FileChunkCbor}) in {@code .fleet-fileds-fromhost-data-<src>}.
 *
 * <p>Where Elasticsearch's Fleet plugin is installed these are data streams made from its index templates at the
 * first write; elsewhere each is created, before its first write, as an index with the same mappings. Everything here
 * works on both: documents are created with {@code _create}, found by search, and changed or read through the
 * concrete index the search named (a data stream's backing index), with the version read.
 *
 * <p>Chunk sizes are read from the chunk documents themselves (the original asks a Painless script field, which a
 * cluster without Painless cannot answer), so completing an upload reads its chunks once.
 */
public final class EsUploadStore implements UploadStore {
    private static final Logger LOG = LoggerFactory.getLogger(EsUploadStore.class);
    static final String META_PREFIX = ".fleet-fileds-fromhost-meta-";
    static final String DATA_PREFIX = ".fleet-fileds-fromhost-data-";
    private static final String ALL_META = META_PREFIX + "*";
    private static final int MAX_CHUNKS = 10_000;

    private final EsClient client;
    private final Clock clock;
    private final Set<String> prepared = ConcurrentHashMap.newKeySet();

    public EsUploadStore(EsClient client, Clock clock) {
        this.client = client;
        this.clock = clock;
    }

    // --- metadata ---

    @Override
    public CompletableFuture<Void> create(String src, String fileId, ObjectNode meta) {
        String index = META_PREFIX + src;
        return prepare(index, "meta").thenCompose(v -> client.send(EsClient.Request.write("PUT",
                        "/" + enc(index) + "/_create/" + enc(fileId) + "?refresh=true", Json.bytes(meta))))
                .thenAccept(r -> {
                    if (!r.ok()) {
                        throw EsFailures.of(r.status(), "creating upload " + fileId + ": " + r.describe());
                    }
                });
    }

    @Override
    public CompletableFuture<Optional<Stored>> byUploadId(String uploadId) {
        return one(term("upload_id", uploadId), "upload id " + uploadId);
    }

    @Override
    public CompletableFuture<Optional<Stored>> byFileId(String fileId) {
        return one(term("_id", fileId), "file " + fileId);
    }

    @Override
    public CompletableFuture<List<Stored>> byAgent(String agentId) {
        return searchMeta(term("agent_id", agentId), MAX_CHUNKS);
    }

    private CompletableFuture<Optional<Stored>> one(ObjectNode query, String what) {
        return searchMeta(query, 2).thenApply(hits -> {
            if (hits.size() > 1) {
                throw new StoreException("unable to locate upload record, got " + hits.size() + " records for " + what
                        + ", expected 1");
            }
            return hits.stream().findFirst();
        });
    }

    private CompletableFuture<List<Stored>> searchMeta(ObjectNode query, int size) {
        ObjectNode body = Json.object();
        body.set("query", query);
        body.put("seq_no_primary_term", true);
        body.put("size", size);
        return client.send(EsClient.Request.read("POST", "/" + ALL_META + "/_search?ignore_unavailable=true&expand_wildcards=open,hidden",
                Json.bytes(body))).thenApply(r -> {
                    if (r.status() == 404) {
                        return List.of();
                    }
                    if (!r.ok()) {
                        throw EsFailures.of(r.status(), "searching uploads: " + r.describe());
                    }
                    List<Stored> out = new ArrayList<>();
                    for (JsonNode hit : r.json().path("hits").path("hits")) {
                        if (hit.path("_source").isObject()) {
                            out.add(new Stored(hit.path("_id").asText(), hit.path("_index").asText(),
                                    hit.path("_seq_no").asLong(-1), hit.path("_primary_term").asLong(-1),
                                    (ObjectNode) hit.get("_source")));
                        }
                    }
                    return out;
                });
    }

    @Override
    public CompletableFuture<Void> replace(Stored upload, ObjectNode source) {
        String path = "/" + enc(upload.location()) + "/_doc/" + enc(upload.fileId()) + "?refresh=true&if_seq_no="
                + upload.seqNo() + "&if_primary_term=" + upload.primaryTerm();
        return client.send(EsClient.Request.write("PUT", path, Json.bytes(source))).thenAccept(r -> {
            if (!r.ok()) {
                throw EsFailures.of(r.status(), "updating upload " + upload.fileId() + ": " + r.describe());
            }
        });
    }

    // --- chunks ---

    @Override
    public CompletableFuture<Void> putChunk(Stored upload, int pos, boolean last, String sha2, byte[] data, int length) {
        String index = dataIndex(upload);
        String id = upload.fileId() + "." + pos;
        byte[] doc = FileChunkCbor.encode(clock.millis(), last, upload.fileId(), sha2, data, 0, length);
        return prepare(index, "data").thenCompose(v -> createChunk(index, id, doc)).thenCompose(r -> {
            if (r.status() != 409) {
                return CompletableFuture.completedFuture(r);
            }
            // Sent before (an agent retrying after a lost answer): this version replaces that one.
            return deleteChunk(index, id).thenCompose(x -> createChunk(index, id, doc));
        }).thenAccept(r -> {
            if (!r.ok()) {
                throw EsFailures.of(r.status(), "storing chunk " + id + ": " + r.describe());
            }
        });
    }

    private CompletableFuture<EsResponse> createChunk(String index, String id, byte[] doc) {
        // No refresh per chunk (a file is many of them); completing the upload refreshes once.
        return client.send(new EsClient.Request("PUT", "/" + enc(index) + "/_create/" + enc(id), doc,
                FileChunkCbor.MEDIA_TYPE, false, null, null, null));
    }

    /** Deletes one chunk by id through the concrete index that holds it (data streams take no deletes by id). */
    private CompletableFuture<Void> deleteChunk(String index, String id) {
        ObjectNode body = Json.object();
        body.set("query", term("_id", id));
        body.put("_source", false);
        return client.send(EsClient.Request.read("POST", "/" + enc(index) + "/_search?ignore_unavailable=true",
                Json.bytes(body))).thenCompose(r -> {
                    if (!r.ok()) {
                        throw EsFailures.of(r.status(), "finding chunk " + id + ": " + r.describe());
                    }
                    CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
                    for (JsonNode hit : r.json().path("hits").path("hits")) {
                        String concrete = hit.path("_index").asText();
                        all = all.thenCompose(v -> client.send(EsClient.Request.write("DELETE",
                                "/" + enc(concrete) + "/_doc/" + enc(id) + "?refresh=true", null)).thenAccept(d -> {
                                    if (!d.ok() && d.status() != 404) {
                                        throw EsFailures.of(d.status(), "replacing chunk " + id + ": " + d.describe());
                                    }
                                }));
                    }
                    return all;
                });
    }

    @Override
    public CompletableFuture<List<StoredChunk>> chunks(Stored upload, boolean withSizes) {
        String index = dataIndex(upload);
        String bid = upload.fileId();
        ObjectNode body = Json.object();
        body.put("_source", false);
        body.set("query", term("bid", bid));
        body.putArray("fields").add("sha2").add("last").add("bid");
        body.put("size", MAX_CHUNKS);
        // Chunks are written without refresh: make every acknowledged one searchable first.
        CompletableFuture<List<StoredChunk>> listed = client.send(EsClient.Request.read("POST",
                        "/" + enc(index) + "/_refresh?ignore_unavailable=true", null))
                .thenCompose(refreshed -> client.send(EsClient.Request.read("POST",
                        "/" + enc(index) + "/_search?ignore_unavailable=true", Json.bytes(body))))
                .thenApply(r -> {
                    if (r.status() == 404) {
                        return List.of();
                    }
                    if (!r.ok()) {
                        throw EsFailures.of(r.status(), "listing the chunks of " + bid + ": " + r.describe());
                    }
                    List<StoredChunk> out = new ArrayList<>();
                    for (JsonNode hit : r.json().path("hits").path("hits")) {
                        String id = hit.path("_id").asText();
                        int pos;
                        try {
                            pos = Integer.parseInt(id.startsWith(bid + ".") ? id.substring(bid.length() + 1) : id);
                        } catch (NumberFormatException e) {
                            throw new StoreException("chunk document " + id + " has no chunk number after " + bid);
                        }
                        JsonNode fields = hit.path("fields");
                        out.add(new StoredChunk(pos, fields.path("last").path(0).asBoolean(false),
                                fields.path("sha2").path(0).asText(""), -1, hit.path("_index").asText()));
                    }
                    out.sort(Comparator.comparingInt(StoredChunk::pos));
                    return out;
                });
        if (!withSizes) {
            return listed;
        }
        // One chunk at a time: sizing a file never holds more than one of its chunks.
        return listed.thenCompose(list -> {
            List<StoredChunk> sized = new ArrayList<>(list.size());
            CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
            for (StoredChunk c : list) {
                all = all.thenCompose(v -> readChunk(upload, c)).thenAccept(data ->
                        sized.add(new StoredChunk(c.pos(), c.last(), c.sha2(), data.length, c.location())));
            }
            return all.thenApply(v -> sized);
        });
    }

    @Override
    public CompletableFuture<byte[]> readChunk(Stored upload, StoredChunk chunk) {
        String id = upload.fileId() + "." + chunk.pos();
        return client.send(EsClient.Request.get("/" + enc(chunk.location()) + "/_doc/" + enc(id) + "?_source_includes=data"))
                .thenApply(r -> {
                    if (!r.ok()) {
                        throw EsFailures.of(r.status(), "reading chunk " + id + ": " + r.describe());
                    }
                    byte[] data = FileChunkCbor.sourceData(r.body());
                    if (data == null) {
                        throw new StoreException("chunk document " + id + " has no data");
                    }
                    return data;
                });
    }

    /**
     * Lists the chunks and deletes them by id in one {@code _bulk}, through the concrete indices that hold them: it
     * needs nothing beyond the document APIs ({@code _delete_by_query} lives in a module a cluster may not have).
     */
    @Override
    public CompletableFuture<Void> deleteChunks(Stored upload) {
        return chunks(upload, false).thenCompose(list -> {
            if (list.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            StringBuilder ndjson = new StringBuilder();
            for (StoredChunk c : list) {
                ObjectNode target = Json.object();
                target.putObject("delete").put("_index", c.location()).put("_id", upload.fileId() + "." + c.pos());
                ndjson.append(Json.string(target)).append('\n');
            }
            return client.send(new EsClient.Request("POST", "/_bulk?refresh=true",
                            ndjson.toString().getBytes(StandardCharsets.UTF_8), "application/x-ndjson", false, null, null, null))
                    .thenAccept(r -> {
                        if (!r.ok()) {
                            throw EsFailures.of(r.status(), "deleting the chunks of " + upload.fileId() + ": " + r.describe());
                        }
                        for (JsonNode item : r.json().path("items")) {
                            int status = item.path("delete").path("status").asInt();
                            if (status >= 300 && status != 404) {
                                throw EsFailures.of(status, "deleting the chunks of " + upload.fileId() + ": "
                                        + item.path("delete").path("error").path("reason").asText());
                            }
                        }
                    });
        });
    }

    /** Left to the cluster's index lifecycle policies, as in the original. */
    @Override
    public CompletableFuture<Integer> removeAbandoned(Instant cutoff) {
        return CompletableFuture.completedFuture(0);
    }

    // --- helpers ---

    private static String dataIndex(Stored upload) {
        return DATA_PREFIX + UploadInfo.of(upload).src();
    }

    /**
     * Makes sure {@code index} can take writes with the right mappings: created from {@code /mappings/} unless it
     * exists. Where the Fleet plugin's index templates make it a data stream, Elasticsearch refuses to create it as an
     * index, and the first write creates the data stream instead. Asked once per index and process.
     */
    private CompletableFuture<Void> prepare(String index, String kind) {
        if (prepared.contains(index)) {
            return CompletableFuture.completedFuture(null);
        }
        return client.send(EsClient.Request.write("PUT", "/" + enc(index), Json.bytes(mapping(kind)))).thenAccept(r -> {
            if (r.ok()) {
                LOG.info("created index {}", index);
            } else if (!"resource_already_exists_exception".equals(r.errorType())) {
                if (EsFailures.outage(r.status()) && r.status() != 403) {
                    throw EsFailures.of(r.status(), "cannot create index " + index + ": " + r.describe());
                }
                // A data stream template claims the name, or this server may not create indices: the write decides.
                LOG.debug("index {} not created ({}); writing to it as it is", index, r.describe());
            }
            prepared.add(index);
        });
    }

    private static ObjectNode mapping(String kind) {
        String resource = "/mappings/.fleet-fileds-fromhost-" + kind + ".json";
        try (InputStream in = EsUploadStore.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + resource);
            }
            return (ObjectNode) Json.MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode term(String field, String value) {
        ObjectNode q = Json.object();
        q.putObject("term").put(field, value);
        return q;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
