package dev.fleetserver.core.file;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.OwnerOnly;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files for delivery on the embedded store: the content in {@code <data dir>/files/tohost/<id>} (mode 0600), the
 * metadata in the store's {@value #META_INDEX} index in the shape Kibana writes to the {@code .fleet-fileds-tohost-meta-*}
 * data streams ({@code file.name}, {@code file.mime_type}, {@code file.size}, {@code file.Status},
 * {@code file.hash.sha256}, {@code file.Meta.target_agents}…), published through the management API.
 *
 * <p>Publishing is two steps, as with Kibana's file service: {@link #create} records the metadata
 * ({@code AWAITING_UPLOAD}), {@link #upload} streams the content into a temporary file that {@link Upload#commit}
 * makes durable ({@code fsync}), renames into place and only then marks {@code READY}. A crash at any point leaves
 * either no file or a complete one; a file is delivered only once READY. Disk reads and the commit run on a small
 * pool of their own, never on the caller's thread.
 */
public final class LocalFileStore implements DeliveryStore, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalFileStore.class);
    /** The metadata index, as Kibana names the one of Fleet-owned (not integration) files. */
    public static final String META_INDEX = ".fleet-fileds-tohost-meta-agent";
    /** Where the content lives, under the data directory. */
    public static final String DIRECTORY = "files/tohost";
    /** Bytes read from disk per piece of a download. */
    static final int PIECE_BYTES = 256 * 1024;
    /** What the metadata says of chunking (the original's chunk size); the content is one file here. */
    static final int CHUNK_SIZE = 4 * 1024 * 1024;
    private static final int MAX_NAME_CHARS = 255;

    private final DocumentStore store;
    private final Path dir;
    private final Clock clock;
    private final ExecutorService io;
    private final Set<String> uploading = ConcurrentHashMap.newKeySet();

    public LocalFileStore(DocumentStore store, Path dataDir, Clock clock) {
        this.store = store;
        this.dir = dataDir.resolve(DIRECTORY);
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        this.io = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "fleet-file-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    // --- delivery ---

    @Override
    public CompletableFuture<Optional<DeliveryFile>> forAgent(String fileId, String agentId) {
        return store.get(META_INDEX, fileId).thenCompose(found -> {
            if (found.isEmpty() || !isReady(found.get().source()) || !targets(found.get().source(), agentId)) {
                return CompletableFuture.completedFuture(Optional.<DeliveryFile>empty());
            }
            ObjectNode file = (ObjectNode) found.get().source().get("file");
            Path content = dir.resolve(fileId);
            return CompletableFuture.supplyAsync(() -> {
                if (!Files.isRegularFile(content)) {
                    LOG.warn("file {} is READY but its content {} is missing", fileId, content);
                    throw new FleetException(FleetError.NO_FILE);
                }
                return Optional.<DeliveryFile>of(new LocalFile(content, file.path("size").asLong(),
                        Json.text(file, "mime_type"), Json.text(file, "hash.sha256")));
            }, io);
        });
    }

    /** Integration libraries are an Elasticsearch feature: there are none here. */
    @Override
    public CompletableFuture<Optional<DeliveryFile>> fromLibrary(String integration, String library, String fileId) {
        return CompletableFuture.completedFuture(Optional.empty());
    }

    private static boolean isReady(ObjectNode meta) {
        return "READY".equals(Json.text(meta, "file.Status"));
    }

    private static boolean targets(ObjectNode meta, String agentId) {
        for (JsonNode a : meta.path("file").path("Meta").path("target_agents")) {
            if (agentId.equals(a.asText(null))) {
                return true;
            }
        }
        return false;
    }

    private final class LocalFile extends StoredFile {
        private final Path content;

        LocalFile(Path content, long size, String mimeType, String sha256) {
            super(new Meta(size, mimeType, sha256));
            this.content = content;
        }

        @Override
        public PieceReader readAll() {
            return read(0, size());
        }

        @Override
        public PieceReader read(long start, long length) {
            return new FileReader(content, start, length);
        }
    }

    /** Reads a byte range of one file, a piece per call, on the I/O pool. */
    private final class FileReader implements PieceReader {
        private final Path content;
        private long position;
        private final long end;
        private FileChannel channel;
        private volatile boolean closed;

        FileReader(Path content, long start, long length) {
            this.content = content;
            this.position = start;
            this.end = start + length;
        }

        @Override
        public CompletableFuture<byte[]> next() {
            return CompletableFuture.supplyAsync(() -> {
                if (closed) {
                    throw new IllegalStateException("reader closed");
                }
                if (position >= end) {
                    return null;
                }
                try {
                    if (channel == null) {
                        channel = FileChannel.open(content, StandardOpenOption.READ);
                    }
                    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(PIECE_BYTES, end - position));
                    while (buf.hasRemaining()) {
                        int n = channel.read(buf, position + buf.position());
                        if (n < 0) {
                            break;
                        }
                    }
                    if (buf.position() == 0) {
                        // The file is shorter than its metadata says: end here, the caller sees a short body.
                        return null;
                    }
                    position += buf.position();
                    return buf.position() == buf.capacity() ? buf.array() : java.util.Arrays.copyOf(buf.array(), buf.position());
                } catch (IOException e) {
                    throw new UncheckedIOException("reading " + content + ": " + e.getMessage(), e);
                }
            }, io);
        }

        @Override
        public void close() {
            closed = true;
            io.execute(() -> {
                try {
                    if (channel != null) {
                        channel.close();
                    }
                } catch (IOException e) {
                    LOG.debug("closing {}: {}", content, e.toString());
                }
            });
        }
    }

    // --- publishing (management API) ---

    /**
     * Records a file to deliver: {@code {"name", "mime_type"?, "agents": [agent ids]}}. Answers
     * {@code {"item": {...}}} with its new {@code id} and status {@code AWAITING_UPLOAD}.
     */
    public CompletableFuture<ObjectNode> create(JsonNode body) {
        if (!(body instanceof ObjectNode in)) {
            throw bad("the body must be a JSON object");
        }
        in.fieldNames().forEachRemaining(f -> {
            if (!Set.of("name", "mime_type", "agents").contains(f)) {
                throw bad("unknown field [" + f + "]");
            }
        });
        String name = Json.text(in, "name");
        if (name == null || name.isBlank() || name.length() > MAX_NAME_CHARS || name.chars().anyMatch(Character::isISOControl)) {
            throw bad("name is required: a string of at most " + MAX_NAME_CHARS + " characters without control characters");
        }
        JsonNode mime = in.get("mime_type");
        if (mime != null && !mime.isNull() && (!mime.isTextual() || mime.textValue().isBlank())) {
            throw bad("mime_type must be a non-empty string");
        }
        if (!(in.get("agents") instanceof ArrayNode agents) || agents.isEmpty()) {
            throw bad("agents is required: a non-empty array of agent ids");
        }
        Set<String> targets = new LinkedHashSet<>();
        for (JsonNode a : agents) {
            if (!a.isTextual() || a.textValue().isEmpty() || DocumentIds.problem("agent id", a.textValue()) != null) {
                throw bad("agents must hold agent ids (non-empty strings)");
            }
            targets.add(a.textValue());
        }
        String id = UUID.randomUUID().toString();
        ObjectNode meta = Json.object();
        meta.put("@timestamp", clock.millis());
        meta.put("source", "agent");
        ObjectNode file = meta.putObject("file");
        file.put("name", name);
        if (mime != null && mime.isTextual()) {
            file.put("mime_type", mime.textValue());
        }
        file.put("ChunkSize", CHUNK_SIZE);
        file.put("Status", "AWAITING_UPLOAD");
        targets.forEach(file.putObject("Meta").putArray("target_agents")::add);
        return store.create(META_INDEX, id, meta).thenApply(seq -> item(id, meta));
    }

    /** {@code {"item": ...}} of one file; fails with a management 404 when there is none. */
    public CompletableFuture<ObjectNode> get(String id) {
        return meta(id).thenApply(d -> item(id, d.source()));
    }

    /** Removes a file: its metadata first (so it is no longer delivered), then its content. */
    public CompletableFuture<ObjectNode> delete(String id) {
        return meta(id).thenCompose(d -> store.delete(META_INDEX, id)).thenApplyAsync(seq -> {
            try {
                Files.deleteIfExists(dir.resolve(id));
            } catch (IOException e) {
                LOG.warn("file {}: metadata deleted, content {} not: {}", id, dir.resolve(id), e.toString());
            }
            ObjectNode out = Json.object();
            out.put("id", id);
            out.put("deleted", true);
            return out;
        }, io);
    }

    /**
     * Starts the upload of file {@code id}'s content; fails with a management 404 for an unknown file and 409 for one
     * already uploaded or being uploaded. The caller writes the body into the upload as it arrives, then commits it
     * (or aborts it when the body fails).
     */
    public CompletableFuture<Upload> upload(String id) {
        return meta(id).thenApplyAsync(d -> {
            if (!"AWAITING_UPLOAD".equals(Json.text(d.source(), "file.Status"))) {
                throw new FleetException(FleetError.MANAGEMENT_CONFLICT, "file " + id + " was uploaded already");
            }
            if (!uploading.add(id)) {
                throw new FleetException(FleetError.MANAGEMENT_CONFLICT, "file " + id + " is being uploaded");
            }
            try {
                for (Path level : new Path[] {dir.getParent(), dir}) {
                    if (!Files.isDirectory(level)) {
                        try {
                            OwnerOnly.createDirectory(level);
                        } catch (java.nio.file.FileAlreadyExistsException raced) {
                            // Another upload made it meanwhile.
                        }
                    }
                }
                Path tmp = Files.createTempFile(dir, "." + id + "-", ".tmp",
                        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
                return new Upload(id, d, tmp, FileChannel.open(tmp, StandardOpenOption.WRITE));
            } catch (IOException | RuntimeException e) {
                uploading.remove(id);
                throw new UncheckedIOException("cannot store the content of file " + id + ": " + e.getMessage(),
                        e instanceof IOException io ? io : new IOException(e));
            }
        }, io);
    }

    private CompletableFuture<Doc> meta(String id) {
        if (DocumentIds.problem("id", id) != null) {
            return CompletableFuture.failedFuture(bad(DocumentIds.problem("id", id)));
        }
        return store.get(META_INDEX, id).thenApply(d -> d.orElseThrow(
                () -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file " + id + " not found")));
    }

    /** The content of one file while it streams in. */
    public final class Upload {
        private final String id;
        private final Doc meta;
        private final Path tmp;
        private final FileChannel channel;
        private final MessageDigest digest;
        private long size;
        private boolean done;

        private Upload(String id, Doc meta, Path tmp, FileChannel channel) {
            this.id = id;
            this.meta = meta;
            this.tmp = tmp;
            this.channel = channel;
            try {
                this.digest = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Appends the next bytes (written to the page cache; made durable by {@link #commit}). */
        public void write(ByteBuffer bytes) throws IOException {
            digest.update(bytes.duplicate());
            size += bytes.remaining();
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        }

        /**
         * Makes the content durable, puts it in place and marks the file READY with its size and SHA-256; answers
         * the file's item.
         */
        public CompletableFuture<ObjectNode> commit() {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    channel.force(true);
                    channel.close();
                    Path target = dir.resolve(id);
                    try {
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                    syncDirectory(dir);
                    return null;
                } catch (IOException e) {
                    abort();
                    throw new UncheckedIOException("cannot store the content of file " + id + ": " + e.getMessage(), e);
                }
            }, io).thenCompose(v -> {
                ObjectNode partial = Json.object();
                ObjectNode file = partial.putObject("file");
                file.put("size", size);
                file.putObject("hash").put("sha256", HexFormat.of().formatHex(digest.digest()));
                file.put("Status", "READY");
                return store.update(META_INDEX, id, partial);
            }).handle((seq, t) -> {
                done = true;
                uploading.remove(id);
                if (t != null) {
                    throw t instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(t);
                }
                return get(id);
            }).thenCompose(f -> f);
        }

        /** Throws away what was written. */
        public void abort() {
            if (!done) {
                done = true;
                uploading.remove(id);
            }
            try {
                channel.close();
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                LOG.warn("file {}: could not remove {}: {}", id, tmp, e.toString());
            }
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Not every file system lets a directory be opened; the rename is then as durable as it gets.
            LOG.debug("cannot fsync {}: {}", dir, e.toString());
        }
    }

    private static ObjectNode item(String id, ObjectNode meta) {
        ObjectNode file = meta.path("file") instanceof ObjectNode f ? f : Json.object();
        ObjectNode item = Json.object();
        item.put("id", id);
        item.put("name", Json.text(file, "name"));
        if (file.has("mime_type")) {
            item.set("mime_type", file.get("mime_type"));
        }
        item.put("status", Json.text(file, "Status"));
        if (file.has("size")) {
            item.set("size", file.get("size"));
        }
        if (file.path("hash").has("sha256")) {
            item.set("sha256", file.path("hash").get("sha256"));
        }
        item.set("agents", file.path("Meta").path("target_agents").deepCopy());
        item.set("created", meta.get("@timestamp"));
        ObjectNode out = Json.object();
        out.set("item", item);
        return out;
    }

    private static FleetException bad(String message) {
        return new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, message);
    }

    @Override
    public void close() {
        io.shutdownNow();
    }
}
