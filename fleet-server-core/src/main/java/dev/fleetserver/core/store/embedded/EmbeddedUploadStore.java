package dev.fleetserver.core.store.embedded;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.upload.UploadInfo;
import dev.fleetserver.core.upload.UploadStore;
import dev.fleetserver.core.util.OwnerOnly;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Uploads on the embedded store: metadata documents (the original's shape) in the database, in one index for every
 * source, and chunks as files in {@code <data-dir>/uploads/<upload_id>/<n>-<sha256>} (directories {@code 0700},
 * files {@code 0600}, as the rest of the data directory).
 *
 * <p>A chunk is durable before {@link #putChunk} completes: written to a temporary file, forced to disk, renamed into
 * place atomically (replacing an earlier version of that chunk), and the directory forced, so a chunk that was
 * answered 200 survives {@code kill -9} and power loss, and a crash never leaves a torn chunk under a chunk's name.
 * Should a crash come between the rename and the removal of an earlier version of the same chunk, the newer file is
 * the one {@link #chunks} lists.
 *
 * <p>File work runs on a small pool of its own, never on the caller's thread.
 */
public final class EmbeddedUploadStore implements UploadStore, AutoCloseable {
    /** The index of upload metadata documents. */
    public static final String INDEX = ".fleet-fileds-fromhost-meta";
    /** Temporary files older than this at a cleanup belong to writes that will never finish. */
    private static final Duration STALE_TEMPORARY = Duration.ofHours(1);
    private static final Pattern CHUNK = Pattern.compile("(\\d{1,9})-([0-9a-f]{64})");
    private static final Pattern UPLOAD_DIR = Pattern.compile("[0-9a-f-]{36}");

    private final DocumentStore documents;
    private final Path root;
    private final ExecutorService io;

    /**
     * @param documents the embedded document store (metadata)
     * @param root      the directory for chunks, {@code <data-dir>/uploads}; created {@code 0700} with the first chunk
     */
    public EmbeddedUploadStore(DocumentStore documents, Path root) throws IOException {
        this.documents = documents;
        this.root = root;
        // Made with the first chunk; one left open to others (copied in by hand) is tightened.
        if (Files.isDirectory(root)) {
            OwnerOnly.restrict(root);
        }
        AtomicInteger n = new AtomicInteger();
        this.io = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "fleet-upload-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    // --- metadata ---

    @Override
    public CompletableFuture<Void> create(String src, String fileId, ObjectNode meta) {
        return documents.create(INDEX, fileId, meta).thenApply(seq -> null);
    }

    @Override
    public CompletableFuture<Optional<Stored>> byUploadId(String uploadId) {
        return documents.search(INDEX, Query.where().term("upload_id", uploadId).size(2)).thenApply(hits -> {
            if (hits.size() > 1) {
                throw new StoreException("upload id " + uploadId + " is on " + hits.size() + " documents");
            }
            return hits.stream().findFirst().map(EmbeddedUploadStore::stored);
        });
    }

    @Override
    public CompletableFuture<Optional<Stored>> byFileId(String fileId) {
        return documents.get(INDEX, fileId).thenApply(d -> d.map(EmbeddedUploadStore::stored));
    }

    @Override
    public CompletableFuture<List<Stored>> byAgent(String agentId) {
        return documents.search(INDEX, Query.where().term("agent_id", agentId).size(10_000))
                .thenApply(hits -> hits.stream().map(EmbeddedUploadStore::stored).toList());
    }

    @Override
    public CompletableFuture<Void> replace(Stored upload, ObjectNode source) {
        return documents.write(new WriteOp.Put(INDEX, upload.fileId(), source, upload.seqNo(), upload.primaryTerm()))
                .thenApply(seq -> null);
    }

    private static Stored stored(Doc d) {
        return new Stored(d.id(), d.index(), d.seqNo(), d.primaryTerm(), d.source());
    }

    // --- chunks ---

    @Override
    public CompletableFuture<Void> putChunk(Stored upload, int pos, boolean last, String sha2, byte[] data, int length) {
        return onIo(() -> {
            Path dir = directory(upload);
            try {
                if (!Files.isDirectory(dir)) {
                    if (!Files.isDirectory(root)) {
                        createDirectory(root);
                        forceDirectory(root.toAbsolutePath().getParent());
                    }
                    createDirectory(dir);
                    forceDirectory(root);
                }
                Path tmp = dir.resolve("." + pos + "." + UUID.randomUUID() + ".tmp");
                OwnerOnly.createFile(tmp);
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ByteBuffer buf = ByteBuffer.wrap(data, 0, length);
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    ch.force(true);
                }
                String name = pos + "-" + sha2.toLowerCase(Locale.ROOT);
                Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                forceDirectory(dir);
                // An earlier version of this chunk (another hash) is stale now that the new one is in place.
                try (DirectoryStream<Path> older = Files.newDirectoryStream(dir, pos + "-*")) {
                    for (Path p : older) {
                        if (!p.getFileName().toString().equals(name)) {
                            Files.deleteIfExists(p);
                        }
                    }
                }
                return null;
            } catch (IOException e) {
                throw new StoreException("cannot store chunk " + pos + " of upload " + uploadId(upload) + ": " + e, e);
            }
        });
    }

    @Override
    public CompletableFuture<List<StoredChunk>> chunks(Stored upload, boolean withSizes) {
        int count = UploadInfo.of(upload).count();
        return onIo(() -> {
            Path dir = directory(upload);
            Map<Integer, Path> newest = new HashMap<>();
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path p : files) {
                    Matcher m = CHUNK.matcher(p.getFileName().toString());
                    if (m.matches()) {
                        newest.merge(Integer.parseInt(m.group(1)), p, EmbeddedUploadStore::newer);
                    }
                }
            } catch (NoSuchFileException e) {
                return List.of();
            } catch (IOException e) {
                throw new StoreException("cannot list the chunks of upload " + uploadId(upload) + ": " + e, e);
            }
            List<StoredChunk> out = new ArrayList<>(newest.size());
            for (Map.Entry<Integer, Path> e : newest.entrySet()) {
                String name = e.getValue().getFileName().toString();
                int pos = e.getKey();
                long size;
                try {
                    size = Files.size(e.getValue());
                } catch (IOException ex) {
                    throw new StoreException("cannot read chunk " + name + " of upload " + uploadId(upload) + ": " + ex, ex);
                }
                out.add(new StoredChunk(pos, pos == count - 1, name.substring(name.indexOf('-') + 1),
                        (int) Math.min(size, Integer.MAX_VALUE), name));
            }
            out.sort(Comparator.comparingInt(StoredChunk::pos));
            return out;
        });
    }

    @Override
    public CompletableFuture<byte[]> readChunk(Stored upload, StoredChunk chunk) {
        return onIo(() -> {
            try {
                return Files.readAllBytes(directory(upload).resolve(chunk.location()));
            } catch (IOException e) {
                throw new StoreException("cannot read chunk " + chunk.pos() + " of upload " + uploadId(upload) + ": " + e, e);
            }
        });
    }

    @Override
    public CompletableFuture<Void> deleteChunks(Stored upload) {
        return onIo(() -> {
            deleteTree(directory(upload));
            return null;
        });
    }

    @Override
    public CompletableFuture<Integer> removeAbandoned(Instant cutoff) {
        CompletableFuture<List<Path>> dirs = onIo(() -> {
            List<Path> out = new ArrayList<>();
            if (!Files.isDirectory(root)) {
                return out;
            }
            try (DirectoryStream<Path> all = Files.newDirectoryStream(root)) {
                for (Path p : all) {
                    if (Files.isDirectory(p) && UPLOAD_DIR.matcher(p.getFileName().toString()).matches()) {
                        out.add(p);
                    }
                }
            } catch (IOException e) {
                throw new StoreException("cannot list " + root + ": " + e, e);
            }
            return out;
        });
        return dirs.thenCompose(list -> {
            CompletableFuture<Integer> removed = CompletableFuture.completedFuture(0);
            for (Path dir : list) {
                String uploadId = dir.getFileName().toString();
                removed = removed.thenCompose(n -> byUploadId(uploadId).thenCompose(found -> onIo(() -> {
                    boolean abandoned = found.map(s -> {
                        UploadInfo info = UploadInfo.of(s);
                        return UploadInfo.UPLOAD_ERROR.equals(info.status()) || UploadInfo.DELETED.equals(info.status())
                                || !UploadInfo.READY.equals(info.status()) && info.start().isBefore(cutoff);
                    }).orElse(true);
                    if (abandoned) {
                        deleteTree(dir);
                        return n + 1;
                    }
                    removeStaleTemporaries(dir);
                    return n;
                })));
            }
            return removed;
        });
    }

    private void removeStaleTemporaries(Path dir) {
        Instant stale = Instant.now().minus(STALE_TEMPORARY);
        try (DirectoryStream<Path> tmps = Files.newDirectoryStream(dir, ".*.tmp")) {
            for (Path p : tmps) {
                if (Files.getLastModifiedTime(p).toInstant().isBefore(stale)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path directory(Stored upload) {
        String id = uploadId(upload);
        if (!UPLOAD_DIR.matcher(id).matches()) {
            // Ids are UUIDs this server made; anything else never names a path.
            throw new StoreException("upload " + upload.fileId() + " has no valid upload id");
        }
        return root.resolve(id);
    }

    private static String uploadId(Stored upload) {
        return upload.source().path("upload_id").asText("");
    }

    private static Path newer(Path a, Path b) {
        try {
            FileTime ta = Files.getLastModifiedTime(a);
            FileTime tb = Files.getLastModifiedTime(b);
            return ta.compareTo(tb) >= 0 ? a : b;
        } catch (IOException e) {
            return a;
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            throw new StoreException("cannot remove " + dir + ": " + e, e);
        }
    }

    /** Creates a directory {@code 0700}; one created meanwhile by a concurrent chunk is fine. */
    private static void createDirectory(Path dir) throws IOException {
        try {
            OwnerOnly.createDirectory(dir);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // made by a concurrent chunk
        }
    }

    /** Forces a directory's entries (a rename or a new file in it) to disk. */
    private static void forceDirectory(Path dir) throws IOException {
        if (dir == null) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems (and Windows) cannot open a directory; the rename is as durable as they make it.
            if (!(e instanceof java.nio.file.AccessDeniedException) && OwnerOnly.posix()) {
                throw e;
            }
        }
    }

    private <T> CompletableFuture<T> onIo(Supplier<T> work) {
        try {
            return CompletableFuture.supplyAsync(work, io);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new StoreException.Unavailable("the upload store is closed", e));
        }
    }

    @Override
    public void close() {
        io.shutdown();
    }
}
