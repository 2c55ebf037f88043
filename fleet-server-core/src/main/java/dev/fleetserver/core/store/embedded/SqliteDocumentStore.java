package dev.fleetserver.core.store.embedded;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.Filter;
import dev.fleetserver.core.store.FilterEvaluator;
import dev.fleetserver.core.store.JsonMerge;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import dev.fleetserver.core.util.OwnerOnly;
import org.sqlite.SQLiteConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded {@link DocumentStore}: one SQLite database file ({@code <dataDir>/fleet.db}) in WAL mode with
 * {@code synchronous=FULL}, so a write whose future completed survives a crash of the process or of the machine.
 *
 * <p>Threads: one writer owns the write connection and group-commits: it takes every {@link #bulk} request queued
 * at that moment (up to {@value #MAX_BATCH_OPS} ops), applies them in one transaction, commits, and only then
 * completes their futures, on a callback pool so that no caller's continuation runs on the writer. Reads run on a
 * pool of {@value #READERS} threads, each with its own connection (WAL lets them read while the writer writes).
 *
 * <p>Sequence numbers come from a per-index counter table, so they are never reused, even after deletes or a
 * restart. The writer commits in sequence order, so the checkpoint is simply the index's last number.
 *
 * <p>Filters, sorting and paging are evaluated in Java by {@link FilterEvaluator}; SQL only narrows the rows read —
 * by index, {@code _id}, {@code _seq_no} and the strings of string terms ({@code instr}) — and a search in sequence
 * order stops at the last hit of its page. Rows are parsed only as far as the filters and sort read, and whole only
 * when returned. That suits Fleet's indices, which hold at most tens of thousands of documents.
 *
 * <p>The database file and SQLite's {@code -wal} and {@code -shm} files (which take the database file's mode) are
 * readable by their owner only: they hold enrollment tokens and API key hashes. A damaged database file
 * (SQLite's {@code SQLITE_CORRUPT} or {@code SQLITE_NOTADB}) is logged at ERROR once and reported to the
 * {@linkplain #onCorruption listener}; the operation fails as any other store failure.
 */
public final class SqliteDocumentStore implements DocumentStore {
    /** The database file inside the data directory. */
    public static final String FILE_NAME = "fleet.db";

    private static final Logger log = LoggerFactory.getLogger(SqliteDocumentStore.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int READERS = 2;
    private static final int MAX_BATCH_OPS = 10_000;
    private static final int BUSY_TIMEOUT_MILLIS = 10_000;
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_ID_NARROWING = 500;
    private static final int MAX_TEXT_NARROWING = 50;
    /** Pages up to this many hits parse only their own documents whole. */
    private static final int SMALL_PAGE = 1000;

    private final String url;
    private final Connection writeConnection;
    private final PreparedStatement selectForWrite;
    private final PreparedStatement upsertDocument;
    private final PreparedStatement deleteDocument;
    private final PreparedStatement upsertSequence;

    private final ExecutorService writer = Executors.newSingleThreadExecutor(daemon("fleet-store-writer"));
    private final ExecutorService readers = Executors.newFixedThreadPool(READERS, daemon("fleet-store-reader"));
    private final ExecutorService callbacks = Executors.newFixedThreadPool(2, daemon("fleet-store-callback"));
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemon("fleet-store-timer"));

    private final ThreadLocal<Connection> readConnection = new ThreadLocal<>();
    private final Queue<Connection> readConnections = new ConcurrentLinkedQueue<>();

    private final Queue<PendingBulk> pending = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();

    /** Committed checkpoint per index; written only by the writer after a commit, together with the waiters. */
    private final Map<String, Long> checkpoints = new ConcurrentHashMap<>();
    private final Map<String, List<Waiter>> waiters = new HashMap<>();
    private final Object checkpointLock = new Object();

    private volatile boolean closed;

    private final Path file;
    private final boolean readOnly;
    private final AtomicBoolean corruptionSeen = new AtomicBoolean();
    private volatile String corruption;
    private volatile Consumer<String> corruptionListener = reason -> { };

    private SqliteDocumentStore(Path file, boolean readOnly) throws SQLException {
        this.file = file;
        this.readOnly = readOnly;
        this.url = "jdbc:sqlite:" + file;
        this.writeConnection = connect(url, readOnly);
        try {
            writeConnection.setAutoCommit(false);
            if (!readOnly) {
                createSchema();
            }
            loadCheckpoints();
            selectForWrite = writeConnection.prepareStatement("SELECT seq, source FROM documents WHERE idx = ? AND id = ?");
            upsertDocument = writeConnection.prepareStatement(
                "INSERT INTO documents (idx, id, seq, source) VALUES (?, ?, ?, ?) "
                    + "ON CONFLICT (idx, id) DO UPDATE SET seq = excluded.seq, source = excluded.source");
            deleteDocument = writeConnection.prepareStatement("DELETE FROM documents WHERE idx = ? AND id = ?");
            upsertSequence = writeConnection.prepareStatement(
                "INSERT INTO sequences (idx, seq) VALUES (?, ?) ON CONFLICT (idx) DO UPDATE SET seq = excluded.seq");
        } catch (SQLException e) {
            writeConnection.close();
            throw e;
        }
    }

    /**
     * Opens (creating when needed) the store in {@code dataDir}. Blocks while the database opens.
     *
     * @throws StoreException.Unavailable when the directory or database cannot be created or opened
     */
    public static SqliteDocumentStore open(Path dataDir) {
        Path file = dataDir.resolve(FILE_NAME).toAbsolutePath();
        try {
            Files.createDirectories(dataDir);
            // SQLite would create the file readable by all (0644 under the usual umask), and its -wal and -shm
            // files copy the database file's mode.
            if (!OwnerOnly.createFileIfMissing(file)) {
                restrictToOwner(file);
            }
            restrictToOwner(walFile(file));
            restrictToOwner(shmFile(file));
            SqliteDocumentStore store = new SqliteDocumentStore(file, false);
            log.info("Embedded store opened at {}", file);
            return store;
        } catch (IOException | SQLException e) {
            throw new StoreException.Unavailable("cannot open the embedded store at " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens an existing store for reading only, e.g. beside a running server (SQLite's write-ahead log lets it read
     * while the server writes). Never creates anything; writes fail.
     *
     * @throws StoreException.Unavailable when there is no database file or it cannot be opened
     */
    public static SqliteDocumentStore openReadOnly(Path dataDir) {
        Path file = dataDir.resolve(FILE_NAME).toAbsolutePath();
        if (!Files.isRegularFile(file)) {
            throw new StoreException.Unavailable("there is no embedded store at " + file, null);
        }
        try {
            return new SqliteDocumentStore(file, true);
        } catch (SQLException e) {
            throw new StoreException.Unavailable("cannot open the embedded store at " + file + ": " + e.getMessage(), e);
        }
    }

    /** SQLite's write-ahead log beside {@code database}. */
    public static Path walFile(Path database) {
        return database.resolveSibling(database.getFileName() + "-wal");
    }

    /** SQLite's shared-memory index beside {@code database}. */
    public static Path shmFile(Path database) {
        return database.resolveSibling(database.getFileName() + "-shm");
    }

    private static void restrictToOwner(Path path) throws IOException {
        if (Files.exists(path) && OwnerOnly.restrict(path)) {
            log.warn("{} was readable by other users; it is now readable by its owner only", path);
        }
    }

    /**
     * Whether {@code failure} (or a cause) is SQLite saying the database file is damaged: {@code SQLITE_CORRUPT}
     * (11) or {@code SQLITE_NOTADB} (26), extended codes included.
     */
    public static boolean isCorruption(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException e) {
                int primary = e.getErrorCode() & 0xff;
                if (primary == 11 || primary == 26) {
                    return true;
                }
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /**
     * Calls {@code listener} (once, with a description) when an operation finds the database damaged; at once when
     * one already has. Replaces any previous listener.
     */
    public void onCorruption(Consumer<String> listener) {
        corruptionListener = Objects.requireNonNull(listener, "listener");
        String seen = corruption;
        if (seen != null) {
            listener.accept(seen);
        }
    }

    /** The failure to complete an operation with; reports a damaged database the first time one is seen. */
    private StoreException failure(String what, Exception e) {
        if (isCorruption(e) && corruptionSeen.compareAndSet(false, true)) {
            String reason = "the embedded store " + file + " is damaged: " + e.getMessage();
            corruption = reason;
            log.error("{}. Agents whose data is in the damaged part get errors until it is repaired: stop the server, "
                + "copy a backup to {} and start it again", reason, file);
            try {
                corruptionListener.accept(reason);
            } catch (RuntimeException listenerFailure) {
                log.warn("Embedded store corruption listener failed", listenerFailure);
            }
        }
        return new StoreException.Unavailable("embedded store " + what + " failed: " + e.getMessage(), e);
    }

    // ---------------------------------------------------------------------------------------------- reads

    @Override
    public CompletableFuture<Optional<Doc>> get(String index, String id) {
        return read(connection -> {
            try (PreparedStatement s = connection.prepareStatement(
                "SELECT id, seq, source FROM documents WHERE idx = ? AND id = ?")) {
                s.setString(1, index);
                s.setString(2, id);
                try (ResultSet rows = s.executeQuery()) {
                    return rows.next() ? Optional.of(doc(index, rows)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public CompletableFuture<List<Doc>> search(String index, Query query) {
        return read(connection -> {
            int from = Math.max(0, query.from());
            long pageEnd = from + (long) Math.max(0, query.size());
            boolean bySeqNo = Query.SEQ_NO.equals(query.sortField());
            // Rows come in sequence order: a search in that order may stop at the last hit of its page.
            List<Hit> hits = matching(connection, index, query, bySeqNo ? pageEnd : Long.MAX_VALUE,
                query.fields() == null, !bySeqNo && pageEnd <= SMALL_PAGE);
            hits.sort(Comparator.comparing(Hit::doc, FilterEvaluator.sortOrder(query)));
            int to = (int) Math.min(hits.size(), pageEnd);
            List<Doc> page = new ArrayList<>(Math.max(0, to - from));
            for (int i = from; i < to; i++) {
                Hit hit = hits.get(i);
                page.add(query.fields() == null ? hit.whole() : projected(hit.doc(), query.fields()));
            }
            return List.copyOf(page);
        });
    }

    /**
     * Lets SQLite skip, before any JSON is parsed, the documents a string term cannot match: a document whose field
     * holds the string holds it, encoded as this store always writes it, somewhere in its text. Only a pre-filter —
     * the filters are still evaluated on each document left — so a string that merely appears elsewhere costs a parse,
     * never a wrong answer. Terms that may match numbers or booleans ({@code "5"}, {@code "true"}) are left alone.
     */
    private static void narrowByText(List<Filter> filters, StringBuilder sql, List<Object> params) throws IOException {
        for (Filter filter : filters) {
            List<JsonNode> values;
            String field;
            if (filter instanceof Filter.Term t) {
                values = Collections.singletonList(t.value());
                field = t.field();
            } else if (filter instanceof Filter.Terms t && !t.values().isEmpty() && t.values().size() <= MAX_TEXT_NARROWING) {
                values = t.values();
                field = t.field();
            } else {
                continue;
            }
            if (field.equals("_id") || field.equals(Query.SEQ_NO)
                    || !values.stream().allMatch(FilterEvaluator::matchesOnlyEqualText)) {
                continue;
            }
            sql.append(" AND (");
            for (int i = 0; i < values.size(); i++) {
                sql.append(i == 0 ? "" : " OR ").append("instr(source, ?) > 0");
                params.add(MAPPER.writeValueAsString(values.get(i)));
            }
            sql.append(')');
        }
    }

    private static Doc projected(Doc d, List<String> fields) {
        ObjectNode source = d.source().objectNode();
        for (String field : fields) {
            JsonNode value = d.source().get(field);
            if (value != null) {
                source.set(field, value);
            }
        }
        return new Doc(d.index(), d.id(), d.seqNo(), d.primaryTerm(), source);
    }

    @Override
    public CompletableFuture<Long> count(String index, Query query) {
        return read(connection -> {
            if (query.filters().isEmpty()) {
                try (PreparedStatement s = connection.prepareStatement("SELECT COUNT(*) FROM documents WHERE idx = ?")) {
                    s.setString(1, index);
                    try (ResultSet rows = s.executeQuery()) {
                        return rows.next() ? rows.getLong(1) : 0L;
                    }
                }
            }
            return (long) matching(connection, index, query, Long.MAX_VALUE, false, false).size();
        });
    }

    @Override
    public CompletableFuture<List<Doc>> changesAfter(String index, long afterSeqNo, long upToSeqNo, int size) {
        return read(connection -> {
            try (PreparedStatement s = connection.prepareStatement(
                "SELECT id, seq, source FROM documents WHERE idx = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?")) {
                s.setString(1, index);
                s.setLong(2, afterSeqNo);
                s.setLong(3, upToSeqNo);
                s.setInt(4, Math.max(0, size));
                return docs(index, s);
            }
        });
    }

    @Override
    public CompletableFuture<Long> checkpoint(String index) {
        return read(connection -> {
            try (PreparedStatement s = connection.prepareStatement("SELECT seq FROM sequences WHERE idx = ?")) {
                s.setString(1, index);
                try (ResultSet rows = s.executeQuery()) {
                    return rows.next() ? rows.getLong(1) : -1L;
                }
            }
        });
    }

    /** A matching row: its document as far as it was parsed, and its text while the whole is still to be parsed. */
    private record Hit(Doc doc, String unparsed) {
        Doc whole() throws IOException {
            return unparsed == null ? doc : new Doc(doc.index(), doc.id(), doc.seqNo(), doc.primaryTerm(), parse(unparsed));
        }
    }

    /**
     * Rows of the index that match every filter, in sequence order (descending when the query sorts by sequence
     * number descending), at most {@code limit}. SQL narrows by {@code _seq_no}, {@code _id} and string terms.
     *
     * <p>Each row is first parsed only as far as the filters and the sort read (other keys are skipped unparsed), and
     * its whole document only when it is returned: a count never parses a whole document, a small page of a large
     * index parses its own few. When most rows match and all will be returned, parsing twice would cost more than it
     * saves, so the rest are parsed whole at once.
     *
     * @param whole        whether the caller returns whole documents ({@link Hit#whole}); else the parsed part holds
     *                     all it needs (counts, and {@linkplain Query#fields() fields} searches)
     * @param fewReturned  whether only a small page of the hits will be returned, whatever their number
     */
    private List<Hit> matching(Connection connection, String index, Query query, long limit, boolean whole,
                               boolean fewReturned) throws SQLException, IOException {
        List<Filter> filters = query.filters();
        StringBuilder sql = new StringBuilder("SELECT id, seq, source FROM documents WHERE idx = ?");
        List<Object> params = new ArrayList<>();
        params.add(index);
        long minSeq = Long.MIN_VALUE;
        long maxSeq = Long.MAX_VALUE;
        List<String> ids = null;
        for (Filter filter : filters) {
            if (filter instanceof Filter.Range r && Query.SEQ_NO.equals(r.field())) {
                if (isLong(r.gt())) {
                    minSeq = Math.max(minSeq, r.gt().longValue() + 1);
                }
                if (isLong(r.gte())) {
                    minSeq = Math.max(minSeq, r.gte().longValue());
                }
                if (isLong(r.lt())) {
                    maxSeq = Math.min(maxSeq, r.lt().longValue() - 1);
                }
                if (isLong(r.lte())) {
                    maxSeq = Math.min(maxSeq, r.lte().longValue());
                }
            } else if (ids == null && filter instanceof Filter.Term t && "_id".equals(t.field()) && t.value().isTextual()) {
                ids = List.of(t.value().textValue());
            } else if (ids == null && filter instanceof Filter.Terms t && "_id".equals(t.field())
                && t.values().size() <= MAX_ID_NARROWING && t.values().stream().allMatch(JsonNode::isTextual)) {
                ids = t.values().stream().map(JsonNode::textValue).toList();
            }
        }
        if (minSeq != Long.MIN_VALUE) {
            sql.append(" AND seq >= ?");
            params.add(minSeq);
        }
        if (maxSeq != Long.MAX_VALUE) {
            sql.append(" AND seq <= ?");
            params.add(maxSeq);
        }
        if (ids != null) {
            if (ids.isEmpty()) {
                return new ArrayList<>();
            }
            sql.append(" AND id IN (").append("?,".repeat(ids.size() - 1)).append("?)");
            params.addAll(ids);
        }
        narrowByText(filters, sql, params);
        boolean descending = Query.SEQ_NO.equals(query.sortField()) && !query.ascending();
        sql.append(descending ? " ORDER BY seq DESC" : " ORDER BY seq");
        Predicate<String> keys = neededKeys(query);
        boolean partly = keys != null;
        List<Hit> hits = new ArrayList<>();
        if (limit <= 0) {
            return hits;
        }
        try (PreparedStatement s = connection.prepareStatement(sql.toString())) {
            for (int i = 0; i < params.size(); i++) {
                s.setObject(i + 1, params.get(i));
            }
            try (ResultSet rows = s.executeQuery()) {
                int scanned = 0;
                while (rows.next()) {
                    scanned++;
                    String json = rows.getString("source");
                    ObjectNode source = partly ? parseKeeping(json, keys) : whole ? parse(json) : MAPPER.createObjectNode();
                    Doc doc = new Doc(index, rows.getString("id"), rows.getLong("seq"), 1, source);
                    if (!FilterEvaluator.matchesAll(doc, filters)) {
                        continue;
                    }
                    hits.add(new Hit(doc, partly && whole ? json : null));
                    if (hits.size() >= limit) {
                        break;
                    }
                    if (partly && whole && !fewReturned && scanned >= 64 && hits.size() * 2L > scanned) {
                        partly = false;
                    }
                }
            }
        }
        return hits;
    }

    private static boolean isLong(JsonNode bound) {
        return bound != null && bound.isIntegralNumber() && bound.canConvertToLong();
    }

    private static List<Doc> docs(String index, PreparedStatement statement) throws SQLException, IOException {
        List<Doc> docs = new ArrayList<>();
        try (ResultSet rows = statement.executeQuery()) {
            while (rows.next()) {
                docs.add(doc(index, rows));
            }
        }
        return docs;
    }

    private static Doc doc(String index, ResultSet row) throws SQLException, IOException {
        return new Doc(index, row.getString("id"), row.getLong("seq"), 1, parse(row.getString("source")));
    }

    /**
     * The top-level keys a query's filters, sort and fields may read, or null when they read none (only {@code _id}
     * and {@code _seq_no}). A path {@code a.b.c} may start at a key {@code a}, {@code a.b} or {@code a.b.c} (a key may
     * itself hold dots), so each of those is kept.
     */
    private static Predicate<String> neededKeys(Query query) {
        List<String> paths = new ArrayList<>(query.fields() == null ? List.of() : query.fields());
        query.filters().forEach(f -> addPaths(f, paths));
        paths.add(query.sortField());
        paths.removeIf(path -> path.equals("_id") || path.equals(Query.SEQ_NO));
        if (paths.isEmpty()) {
            return null;
        }
        return key -> {
            for (String path : paths) {
                if (path.equals(key) || path.startsWith(key) && path.length() > key.length() && path.charAt(key.length()) == '.') {
                    return true;
                }
            }
            return false;
        };
    }

    private static void addPaths(Filter filter, List<String> paths) {
        if (filter instanceof Filter.Term t) {
            paths.add(t.field());
        } else if (filter instanceof Filter.Terms t) {
            paths.add(t.field());
        } else if (filter instanceof Filter.Range r) {
            paths.add(r.field());
        } else if (filter instanceof Filter.Exists e) {
            paths.add(e.field());
        } else if (filter instanceof Filter.Not n) {
            addPaths(n.filter(), paths);
        }
    }

    /** A stored document with only the top-level keys {@code keep} accepts; the others are skipped unparsed. */
    private static ObjectNode parseKeeping(String json, Predicate<String> keep) throws IOException {
        try (JsonParser p = MAPPER.getFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("stored document is not a JSON object");
            }
            ObjectNode out = MAPPER.createObjectNode();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                p.nextToken();
                if (keep.test(key)) {
                    out.set(key, MAPPER.readTree(p));
                } else {
                    p.skipChildren();
                }
            }
            return out;
        }
    }

    private static ObjectNode parse(String json) throws IOException {
        JsonNode node = MAPPER.readTree(json);
        if (!(node instanceof ObjectNode object)) {
            throw new IOException("stored document is not a JSON object");
        }
        return object;
    }

    private interface ReadAction<T> {
        T apply(Connection connection) throws SQLException, IOException;
    }

    private <T> CompletableFuture<T> read(ReadAction<T> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (closed) {
            result.completeExceptionally(closedError());
            return result;
        }
        try {
            readers.execute(() -> {
                try {
                    result.complete(action.apply(readConnection()));
                } catch (SQLException | IOException e) {
                    result.completeExceptionally(failure("read", e));
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(closedError());
        }
        return result;
    }

    private Connection readConnection() throws SQLException {
        Connection connection = readConnection.get();
        if (connection == null) {
            connection = connect(url, readOnly);
            try (Statement s = connection.createStatement()) {
                s.execute("PRAGMA query_only = true");
            }
            readConnection.set(connection);
            readConnections.add(connection);
        }
        return connection;
    }

    // ---------------------------------------------------------------------------------------------- writes

    @Override
    public CompletableFuture<List<WriteResult>> bulk(List<WriteOp> ops) {
        ops.forEach(SqliteDocumentStore::validate);
        if (ops.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        PendingBulk request = new PendingBulk(List.copyOf(ops), new CompletableFuture<>());
        pending.add(request);
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                writer.execute(this::drain);
            } catch (RejectedExecutionException e) {
                drainScheduled.set(false);
            }
        }
        // A request queued while close() swept the queue would otherwise wait forever.
        if (closed && pending.remove(request)) {
            request.future.completeExceptionally(closedError());
        }
        return request.future;
    }

    private static void validate(WriteOp op) {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(op.index(), "index");
        Objects.requireNonNull(op.id(), "id");
        if (op instanceof WriteOp.Create c) {
            Objects.requireNonNull(c.source(), "source");
        } else if (op instanceof WriteOp.Put p) {
            Objects.requireNonNull(p.source(), "source");
        } else if (op instanceof WriteOp.Update u) {
            Objects.requireNonNull(u.partial(), "partial");
        }
    }

    /** Writer thread: commits everything queued, one transaction per round, until the queue is empty. */
    private void drain() {
        drainScheduled.set(false);
        while (true) {
            List<PendingBulk> batch = new ArrayList<>();
            int ops = 0;
            PendingBulk request;
            while (ops < MAX_BATCH_OPS && (request = pending.poll()) != null) {
                batch.add(request);
                ops += request.ops.size();
            }
            if (batch.isEmpty()) {
                return;
            }
            commit(batch);
        }
    }

    private void commit(List<PendingBulk> batch) {
        Map<String, Long> lastSeqs = new HashMap<>();
        List<List<WriteResult>> results = new ArrayList<>(batch.size());
        try {
            for (PendingBulk request : batch) {
                List<WriteResult> requestResults = new ArrayList<>(request.ops.size());
                for (WriteOp op : request.ops) {
                    requestResults.add(apply(op, lastSeqs));
                }
                results.add(requestResults);
            }
            for (Map.Entry<String, Long> seq : lastSeqs.entrySet()) {
                upsertSequence.setString(1, seq.getKey());
                upsertSequence.setLong(2, seq.getValue());
                upsertSequence.executeUpdate();
            }
            writeConnection.commit();
        } catch (SQLException | IOException | RuntimeException e) {
            rollbackQuietly();
            log.warn("Embedded store write of {} requests failed", batch.size(), e);
            StoreException failure = failure("write", e);
            for (PendingBulk request : batch) {
                completeLater(() -> request.future.completeExceptionally(failure));
            }
            return;
        }
        publish(lastSeqs);
        for (int i = 0; i < batch.size(); i++) {
            PendingBulk request = batch.get(i);
            List<WriteResult> requestResults = List.copyOf(results.get(i));
            completeLater(() -> request.future.complete(requestResults));
        }
    }

    private WriteResult apply(WriteOp op, Map<String, Long> lastSeqs) throws SQLException, IOException {
        String index = op.index();
        String id = op.id();
        Stored current = stored(index, id);
        if (op instanceof WriteOp.Create create) {
            if (current != null) {
                return failed(id, new StoreException.Conflict(
                    "[" + id + "]: version conflict, document already exists (current seq_no [" + current.seq + "])"));
            }
            return written(id, upsert(index, id, create.source(), lastSeqs));
        } else if (op instanceof WriteOp.Put put) {
            if (put.ifSeqNo() >= 0 && (current == null || put.ifSeqNo() != current.seq)) {
                return failed(id, new StoreException.Conflict("[" + id + "]: version conflict, required seqNo ["
                    + put.ifSeqNo() + "], " + (current == null ? "document does not exist"
                        : "current document has seqNo [" + current.seq + "]")));
            }
            return written(id, upsert(index, id, put.source(), lastSeqs));
        } else if (op instanceof WriteOp.Update update) {
            if (current == null) {
                return failed(id, new StoreException.NotFound("[" + id + "]: document missing in [" + index + "]"));
            }
            if (update.ifSeqNo() >= 0 && update.ifSeqNo() != current.seq) {
                return failed(id, new StoreException.Conflict("[" + id + "]: version conflict, required seqNo ["
                    + update.ifSeqNo() + "], current document has seqNo [" + current.seq + "]"));
            }
            ObjectNode merged = parse(current.source);
            JsonMerge.mergeInto(merged, update.partial());
            return written(id, upsert(index, id, merged, lastSeqs));
        } else if (op instanceof WriteOp.Delete) {
            if (current == null) {
                return failed(id, new StoreException.NotFound("[" + id + "]: document missing in [" + index + "]"));
            }
            nextSeq(index, lastSeqs);
            deleteDocument.setString(1, index);
            deleteDocument.setString(2, id);
            deleteDocument.executeUpdate();
            return new WriteResult(id, -1, null);
        }
        throw new IllegalArgumentException("unknown write op " + op);
    }

    private record Stored(long seq, String source) {
    }

    private Stored stored(String index, String id) throws SQLException {
        selectForWrite.setString(1, index);
        selectForWrite.setString(2, id);
        try (ResultSet rows = selectForWrite.executeQuery()) {
            return rows.next() ? new Stored(rows.getLong(1), rows.getString(2)) : null;
        }
    }

    private long upsert(String index, String id, ObjectNode source, Map<String, Long> lastSeqs)
        throws SQLException, JsonProcessingException {
        String json = MAPPER.writeValueAsString(source);
        long seq = nextSeq(index, lastSeqs);
        upsertDocument.setString(1, index);
        upsertDocument.setString(2, id);
        upsertDocument.setLong(3, seq);
        upsertDocument.setString(4, json);
        upsertDocument.executeUpdate();
        return seq;
    }

    private long nextSeq(String index, Map<String, Long> lastSeqs) {
        long seq = lastSeqs.getOrDefault(index, checkpoints.getOrDefault(index, -1L)) + 1;
        lastSeqs.put(index, seq);
        return seq;
    }

    private static WriteResult written(String id, long seq) {
        return new WriteResult(id, seq, null);
    }

    private static WriteResult failed(String id, StoreException error) {
        return new WriteResult(id, -1, error);
    }

    private void rollbackQuietly() {
        try {
            writeConnection.rollback();
        } catch (SQLException e) {
            log.warn("Embedded store rollback failed", e);
        }
    }

    // ---------------------------------------------------------------------------------------------- checkpoints

    @Override
    public CompletableFuture<Long> awaitCheckpointAfter(String index, long knownCheckpoint, Duration timeout) {
        if (closed) {
            return CompletableFuture.failedFuture(closedError());
        }
        Waiter waiter = new Waiter(knownCheckpoint, new CompletableFuture<>());
        synchronized (checkpointLock) {
            long current = checkpoints.getOrDefault(index, -1L);
            if (current > knownCheckpoint) {
                return CompletableFuture.completedFuture(current);
            }
            waiters.computeIfAbsent(index, k -> new ArrayList<>()).add(waiter);
        }
        try {
            waiter.timeout = timer.schedule(() -> {
                removeWaiter(index, waiter);
                long current = checkpoints.getOrDefault(index, -1L);
                completeLater(() -> waiter.future.complete(current));
            }, Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            removeWaiter(index, waiter);
            waiter.future.completeExceptionally(closedError());
        }
        return waiter.future;
    }

    /** Writer thread, after a commit: advances the checkpoints and wakes the waiters they satisfy. */
    private void publish(Map<String, Long> lastSeqs) {
        List<Runnable> wakeUps = new ArrayList<>();
        synchronized (checkpointLock) {
            for (Map.Entry<String, Long> entry : lastSeqs.entrySet()) {
                long checkpoint = entry.getValue();
                checkpoints.put(entry.getKey(), checkpoint);
                List<Waiter> indexWaiters = waiters.get(entry.getKey());
                if (indexWaiters == null) {
                    continue;
                }
                for (Iterator<Waiter> it = indexWaiters.iterator(); it.hasNext(); ) {
                    Waiter waiter = it.next();
                    if (checkpoint > waiter.known) {
                        it.remove();
                        wakeUps.add(() -> waiter.wake(checkpoint));
                    }
                }
                if (indexWaiters.isEmpty()) {
                    waiters.remove(entry.getKey());
                }
            }
        }
        wakeUps.forEach(this::completeLater);
    }

    private void removeWaiter(String index, Waiter waiter) {
        synchronized (checkpointLock) {
            List<Waiter> indexWaiters = waiters.get(index);
            if (indexWaiters != null && indexWaiters.remove(waiter) && indexWaiters.isEmpty()) {
                waiters.remove(index);
            }
        }
    }

    private static final class Waiter {
        final long known;
        final CompletableFuture<Long> future;
        volatile ScheduledFuture<?> timeout;

        Waiter(long known, CompletableFuture<Long> future) {
            this.known = known;
            this.future = future;
        }

        void wake(long checkpoint) {
            ScheduledFuture<?> t = timeout;
            if (t != null) {
                t.cancel(false);
            }
            future.complete(checkpoint);
        }
    }

    // ---------------------------------------------------------------------------------------------- lifecycle

    /**
     * Stops accepting work, commits the writes already queued, fails parked {@link #awaitCheckpointAfter} futures
     * with {@link StoreException.Unavailable} and closes the database. Blocks until done; idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        writer.shutdown();
        awaitTermination(writer, "writer");
        for (PendingBulk request; (request = pending.poll()) != null; ) {
            request.future.completeExceptionally(closedError());
        }
        readers.shutdown();
        awaitTermination(readers, "readers");
        timer.shutdownNow();
        List<Waiter> parked = new ArrayList<>();
        synchronized (checkpointLock) {
            waiters.values().forEach(parked::addAll);
            waiters.clear();
        }
        parked.forEach(w -> w.future.completeExceptionally(closedError()));
        callbacks.shutdown();
        awaitTermination(callbacks, "callbacks");
        closeQuietly(writeConnection);
        readConnections.forEach(SqliteDocumentStore::closeQuietly);
        log.info("Embedded store closed");
    }

    private static void awaitTermination(ExecutorService executor, String name) {
        try {
            if (!executor.awaitTermination(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("Embedded store {} did not stop within {}", name, CLOSE_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException e) {
            log.warn("Closing an embedded store connection failed", e);
        }
    }

    /** Runs a future completion on the callback pool, never on the writer or timer thread. */
    private void completeLater(Runnable completion) {
        try {
            callbacks.execute(completion);
        } catch (RejectedExecutionException e) {
            completion.run();
        }
    }

    private static StoreException closedError() {
        return new StoreException.Unavailable("embedded store is closed", null);
    }

    private void createSchema() throws SQLException {
        try (Statement s = writeConnection.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS documents ("
                + "idx TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, source TEXT NOT NULL, "
                + "PRIMARY KEY (idx, id))");
            s.execute("CREATE INDEX IF NOT EXISTS documents_by_seq ON documents (idx, seq)");
            // The last number handed out per index: survives deletes, so numbers are never reused.
            s.execute("CREATE TABLE IF NOT EXISTS sequences (idx TEXT PRIMARY KEY, seq INTEGER NOT NULL)");
        }
        writeConnection.commit();
    }

    private void loadCheckpoints() throws SQLException {
        try (Statement s = writeConnection.createStatement(); ResultSet rows = s.executeQuery("SELECT idx, seq FROM sequences")) {
            while (rows.next()) {
                checkpoints.put(rows.getString(1), rows.getLong(2));
            }
        }
        writeConnection.commit();
    }

    private static Connection connect(String url, boolean readOnly) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(readOnly);
        Connection connection = DriverManager.getConnection(url, config.toProperties());
        try (Statement s = connection.createStatement()) {
            if (!readOnly) {
                try (ResultSet mode = s.executeQuery("PRAGMA journal_mode = WAL")) {
                    if (mode.next() && !"wal".equalsIgnoreCase(mode.getString(1))) {
                        log.warn("Embedded store could not enable WAL (journal mode is {})", mode.getString(1));
                    }
                }
            }
            s.execute("PRAGMA synchronous = FULL");
            s.execute("PRAGMA busy_timeout = " + BUSY_TIMEOUT_MILLIS);
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    private static ThreadFactory daemon(String name) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    private record PendingBulk(List<WriteOp> ops, CompletableFuture<List<WriteResult>> future) {
    }
}
