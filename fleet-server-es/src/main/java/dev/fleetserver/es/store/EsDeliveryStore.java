package dev.fleetserver.es.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.file.DeliveryFile;
import dev.fleetserver.core.file.DeliveryStore;
import dev.fleetserver.core.file.PieceReader;
import dev.fleetserver.core.file.StoredFile;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsFailures;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files for delivery on Elasticsearch, where Kibana writes them, read as the original reads them: the metadata from
 * {@code .fleet-fileds-tohost-meta-*} (by {@code _id}, {@code file.Meta.target_agents} and {@code file.Status} READY)
 * or from an integration's library index {@code .<integration>-fleetfiles-<library>-meta}; the chunk list from the
 * matching data index (term {@code bid}, without the bytes); each chunk, only when the download reaches it, by a
 * stored-fields {@code GET} answered in CBOR ({@link FileChunkCbor}).
 */
public final class EsDeliveryStore implements DeliveryStore {
    private static final Logger LOG = LoggerFactory.getLogger(EsDeliveryStore.class);
    static final String META_PATTERN = ".fleet-fileds-tohost-meta-*";
    static final String DATA_PATTERN = ".fleet-fileds-tohost-data-*";
    /** The original's chunk size, used when the metadata gives none. */
    static final long MAX_CHUNK_SIZE = 4L * 1024 * 1024;

    private final EsClient client;

    public EsDeliveryStore(EsClient client) {
        this.client = client;
    }

    @Override
    public CompletableFuture<Optional<DeliveryFile>> forAgent(String fileId, String agentId) {
        ObjectNode body = Json.object();
        body.put("size", 1);
        ArrayNode must = body.putObject("query").putObject("bool").putArray("must");
        must.addObject().putObject("term").put("_id", fileId);
        must.addObject().putObject("term").put("file.Meta.target_agents", agentId);
        must.addObject().putObject("term").put("file.Status", "READY");
        return client.send(EsClient.Request.read("POST", "/" + META_PATTERN + "/_search", Json.bytes(body))).thenCompose(r -> {
            if (!r.ok()) {
                throw EsFailures.of(r.status(), "file metadata search: " + r.describe());
            }
            JsonNode hit = r.json().path("hits").path("hits").path(0);
            if (!(hit.path("_source") instanceof ObjectNode meta)) {
                return CompletableFuture.completedFuture(Optional.<DeliveryFile>empty());
            }
            return located(fileId, meta, DATA_PATTERN);
        });
    }

    @Override
    public CompletableFuture<Optional<DeliveryFile>> fromLibrary(String integration, String library, String fileId) {
        String metaIndex = "." + integration + "-fleetfiles-" + library + "-meta";
        String dataIndex = "." + integration + "-fleetfiles-" + library + "-data";
        return client.send(EsClient.Request.get("/" + enc(metaIndex) + "/_doc/" + enc(fileId))).thenCompose(r -> {
            if (r.status() == 404) {
                return CompletableFuture.completedFuture(Optional.<DeliveryFile>empty());
            }
            if (r.status() == 403) {
                // As the original, which answers any failure to read a library file as "not found": here only a
                // library the service account may not read (Elasticsearch grants it per integration).
                LOG.warn("library file {}: the service account may not read {}: {}", fileId, metaIndex, r.describe());
                return CompletableFuture.completedFuture(Optional.<DeliveryFile>empty());
            }
            if (!r.ok()) {
                throw EsFailures.of(r.status(), "library file metadata: " + r.describe());
            }
            if (!(r.json().path("_source") instanceof ObjectNode meta)) {
                return CompletableFuture.completedFuture(Optional.<DeliveryFile>empty());
            }
            return located(fileId, meta, dataIndex);
        });
    }

    /** The file with its chunks located; fails with NO_FILE when it has none. */
    private CompletableFuture<Optional<DeliveryFile>> located(String fileId, ObjectNode meta, String dataIndex) {
        ObjectNode body = Json.object();
        body.put("_source", false);
        body.putObject("query").putObject("term").put("bid", fileId);
        body.putArray("fields").add("sha2").add("last").add("bid");
        body.put("size", 10_000);
        String path = "/" + enc(dataIndex) + "/_search?ignore_unavailable=true";
        return client.send(EsClient.Request.read("POST", path, Json.bytes(body))).thenApply(r -> {
            if (!r.ok()) {
                throw EsFailures.of(r.status(), "file chunk search: " + r.describe());
            }
            List<Chunk> chunks = new ArrayList<>();
            for (JsonNode h : r.json().path("hits").path("hits")) {
                String bid = h.path("fields").path("bid").path(0).asText(null);
                String id = h.path("_id").asText();
                if (bid == null) {
                    throw new FleetException(FleetError.INTERNAL, "unable to retrieve bid field from chunk document");
                }
                String num = id.startsWith(bid + ".") ? id.substring(bid.length() + 1) : id;
                int pos;
                try {
                    pos = Integer.parseInt(num);
                } catch (NumberFormatException e) {
                    throw new FleetException(FleetError.INTERNAL, "unable to parse chunk number from id " + id);
                }
                chunks.add(new Chunk(pos, h.path("_index").asText(), id));
            }
            if (chunks.isEmpty()) {
                LOG.warn("file {}: metadata found, no chunk documents in {}", fileId, dataIndex);
                throw new FleetException(FleetError.NO_FILE);
            }
            chunks.sort(Comparator.comparingInt(Chunk::pos));
            JsonNode file = meta.path("file");
            long chunkSize = file.path("ChunkSize").asLong(0);
            return Optional.<DeliveryFile>of(new EsFile(file.path("size").asLong(0), chunkSize > 0 ? chunkSize : MAX_CHUNK_SIZE,
                    Json.text(meta, "file.mime_type"), Json.text(meta, "file.hash.sha256"), List.copyOf(chunks)));
        });
    }

    private record Chunk(int pos, String index, String id) {
    }

    private final class EsFile extends StoredFile {
        private final long chunkSize;
        private final List<Chunk> chunks;

        EsFile(long size, long chunkSize, String mimeType, String sha256, List<Chunk> chunks) {
            super(new Meta(size, mimeType, sha256));
            this.chunkSize = chunkSize;
            this.chunks = chunks;
        }

        @Override
        public PieceReader readAll() {
            return new ChunkReader(chunks, 0, -1);
        }

        /** As the original: every chunk but the last holds exactly {@code ChunkSize} bytes. */
        @Override
        public PieceReader read(long start, long length) {
            long first = start / chunkSize;
            long last = (start + length - 1) / chunkSize;
            if (first >= chunks.size() || first > last || last >= chunks.size()) {
                throw new FleetException(FleetError.RANGE_NOT_SATISFIABLE);
            }
            long skip = start % chunkSize;
            long endOffset = ((start + length - 1) % chunkSize) + 1;
            return new ChunkReader(chunks.subList((int) first, (int) last + 1), skip, endOffset);
        }
    }

    /** Fetches the chunks one by one, cutting {@code skip} bytes off the first and the last after {@code endOffset}. */
    private final class ChunkReader implements PieceReader {
        private final List<Chunk> chunks;
        private final long skip;
        private final long endOffset;
        private int next;
        private volatile boolean closed;

        ChunkReader(List<Chunk> chunks, long skip, long endOffset) {
            this.chunks = chunks;
            this.skip = skip;
            this.endOffset = endOffset;
        }

        @Override
        public CompletableFuture<byte[]> next() {
            if (closed) {
                return CompletableFuture.failedFuture(new IllegalStateException("reader closed"));
            }
            if (next >= chunks.size()) {
                return CompletableFuture.completedFuture(null);
            }
            int i = next++;
            Chunk c = chunks.get(i);
            String path = "/" + enc(c.index()) + "/_doc/" + enc(c.id()) + "?stored_fields=data&_source=false";
            return client.send(EsClient.Request.get(path).accepting(FileChunkCbor.MEDIA_TYPE)).thenApply(r -> {
                if (!r.ok()) {
                    throw EsFailures.of(r.status(), "file chunk " + c.id() + ": HTTP " + r.status());
                }
                byte[] data;
                try {
                    data = FileChunkCbor.storedData(r.body());
                } catch (IOException e) {
                    throw new FleetException(FleetError.INTERNAL, "error decoding chunk " + c.id() + ": " + e.getMessage(), e);
                }
                if (data == null) {
                    throw new FleetException(FleetError.INTERNAL, "chunk " + c.id() + " has no data");
                }
                int from = 0;
                int to = data.length;
                if (i == chunks.size() - 1 && endOffset >= 0) {
                    to = (int) Math.min(to, endOffset);
                }
                if (i == 0) {
                    from = (int) Math.min(skip, to);
                }
                return from == 0 && to == data.length ? data : java.util.Arrays.copyOfRange(data, from, to);
            });
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%2A", "*");
    }
}
