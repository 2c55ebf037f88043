package dev.fleetserver.core.upload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.auth.AgentAuthenticator;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Scheduler;
import dev.fleetserver.core.util.Times;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files agents upload (diagnostics bundles), as the original's uploader: an upload begins with its metadata, its
 * chunks of {@value #CHUNK_SIZE} bytes follow, each checked against its {@code X-Chunk-SHA2}, and completing it checks
 * that every chunk is there with the right size and that the transit hash (SHA-256 over the chunks' binary SHA-256s
 * in order) matches; then the file is {@code READY}. An upload not completed within {@link #EXPIRY} takes no more
 * chunks. Also the management side: the diagnostics uploads of an agent (as Kibana lists them) and their contents.
 */
public final class UploadService {
    private static final Logger LOG = LoggerFactory.getLogger(UploadService.class);
    /** The chunk size every upload gets ({@code file.ChunkSize}): 4 MiB, the original's maximum. */
    public static final int CHUNK_SIZE = 4 * 1024 * 1024;
    /** How long after its start an upload takes chunks. */
    public static final Duration EXPIRY = Duration.ofHours(24);
    /** How often abandoned uploads are cleaned up (on a back end that does it). */
    static final Duration CLEANUP_PERIOD = Duration.ofHours(1);
    /** Kibana stops listing a diagnostics request without a file after this long. */
    private static final Duration LIST_WITHOUT_FILE = Duration.ofDays(89);
    /** {@code src} goes into index names: lowercase letters, digits, {@code -} and {@code _}. */
    private static final Pattern SOURCE = Pattern.compile("[a-z0-9][a-z0-9_-]{0,99}");
    private static final DateTimeFormatter DIAGNOSTICS_NAME =
            DateTimeFormatter.ofPattern("'elastic-agent-diagnostics-'yyyy-MM-dd'T'HH-mm-ss'Z-00.zip'").withZone(ZoneOffset.UTC);
    private static final int STATUS_WRITE_TRIES = 5;

    private final UploadStore store;
    private final FleetRepository repo;
    private final AgentAuthenticator auth;
    private final Clock clock;
    private final Long maxFileSize;
    private Scheduler.Cancellable cleanup;

    /**
     * @param store       where uploads are kept
     * @param documents   the Fleet indices (actions and their results, for the management listing)
     * @param maxFileSize largest {@code file.size} accepted ({@code limits.max_file_storage_size}); null for no limit,
     *                    0 to refuse every upload
     */
    public UploadService(UploadStore store, FleetRepository repo, AgentAuthenticator auth, Clock clock, Long maxFileSize) {
        this.store = store;
        this.repo = repo;
        this.auth = auth;
        this.clock = clock;
        this.maxFileSize = maxFileSize;
    }

    /** Cleans up abandoned uploads now and every hour. */
    public void start(Scheduler scheduler) {
        Runnable run = () -> store.removeAbandoned(clock.instant().minus(EXPIRY)).whenComplete((n, t) -> {
            if (t != null) {
                LOG.warn("cleaning up abandoned uploads failed: {}", Futures.unwrap(t).toString());
            } else if (n > 0) {
                LOG.info("removed the chunks of {} abandoned uploads", n);
            }
        });
        run.run();
        cleanup = scheduler.scheduleEvery(run, CLEANUP_PERIOD);
    }

    public void stop() {
        if (cleanup != null) {
            cleanup.cancel();
        }
    }

    // --- agent API ---

    /**
     * {@code POST /api/fleet/uploads} once its body is read (the key was checked before): the agent named in the body
     * must be the key's, then the metadata is validated, enriched and stored. Completes with
     * {@code {"chunk_size","upload_id"}}.
     *
     * @param body the request body, null when empty
     */
    public CompletableFuture<ObjectNode> begin(List<String> authorization, JsonNode body) {
        if (body == null) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.FILE_INFO_BODY_REQUIRED));
        }
        if (!body.isObject() && !body.isNull()) {
            return CompletableFuture.failedFuture(FleetException.badRequest(
                    "unable to decode upload begin request: the body must be a JSON object"));
        }
        JsonNode agentId = body.path("agent_id");
        if (!agentId.isTextual() || agentId.asText().isEmpty()) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.AGENT_ID_MISSING));
        }
        return auth.authenticateAgent(authorization, agentId.asText())
                .thenCompose(agent -> start(agent, (ObjectNode) body));
    }

    private CompletableFuture<ObjectNode> start(Agent agent, ObjectNode body) {
        if (maxFileSize != null && maxFileSize == 0) {
            throw new FleetException(FleetError.FILE_FEATURE_DISABLED);
        }
        for (String path : List.of("file.name", "file.mime_type", "action_id", "agent_id", "src")) {
            String v = Json.text(body, path);
            if (v == null || v.isBlank()) {
                throw new FleetException(FleetError.FIELD_REQUIRED, path + " is required: field required");
            }
        }
        JsonNode sizeNode = body.path("file").path("size");
        if (!sizeNode.isIntegralNumber() || !sizeNode.canConvertToLong()) {
            throw new FleetException(FleetError.FILE_SIZE_REQUIRED);
        }
        long size = sizeNode.asLong();
        if (size <= 0) {
            throw new FleetException(FleetError.INVALID_FILE_SIZE, "file.size: " + size + ": invalid filesize");
        }
        if (maxFileSize != null && size > maxFileSize) {
            throw new FleetException(FleetError.FILE_SIZE_TOO_LARGE);
        }
        String src = body.get("src").asText();
        if (!SOURCE.matcher(src).matches()) {
            throw FleetException.badRequest("src must be 1 to 100 lowercase letters, digits, '-' or '_'");
        }
        String fileId = body.get("action_id").asText() + "." + body.get("agent_id").asText();
        DocumentIds.require("action_id", fileId);

        String uploadId = UUID.randomUUID().toString();
        long now = clock.millis();
        ObjectNode doc = body.deepCopy();
        ObjectNode file = (ObjectNode) doc.get("file");
        file.put("ChunkSize", CHUNK_SIZE);
        file.put("Status", UploadInfo.AWAITING_UPLOAD);
        doc.put("upload_id", uploadId);
        doc.put("upload_start", now);
        doc.put("@timestamp", now);
        JsonNode namespaces = agent.source().get("namespaces");
        doc.set("namespaces", namespaces == null ? null : namespaces.deepCopy());
        return store.create(src, fileId, doc).handle((v, t) -> {
            if (t != null) {
                if (Futures.unwrap(t) instanceof StoreException.Conflict) {
                    throw FleetException.badRequest("an upload for action " + body.get("action_id").asText()
                            + " of this agent exists already");
                }
                throw new java.util.concurrent.CompletionException(Futures.unwrap(t));
            }
            ObjectNode out = Json.object();
            out.put("chunk_size", CHUNK_SIZE);
            out.put("upload_id", uploadId);
            return out;
        });
    }

    /**
     * The checks of {@code PUT /api/fleet/uploads/{id}/{chunkNum}} made before the agent is authenticated, as the
     * original: the upload exists, has not expired, takes chunks, and has a chunk {@code pos}.
     */
    public CompletableFuture<UploadInfo> chunkTarget(String uploadId, int pos) {
        return find(uploadId).thenApply(info -> {
            if (info.expired(clock.instant(), EXPIRY)) {
                throw new FleetException(FleetError.UPLOAD_EXPIRED);
            }
            if (!info.acceptsChunks()) {
                throw new FleetException(FleetError.UPLOAD_STOPPED);
            }
            if (pos < 0 || pos >= info.count()) {
                throw new FleetException(FleetError.INVALID_CHUNK_NUM);
            }
            return info;
        });
    }

    /**
     * Stores chunk {@code pos} once its body is read: {@code sha2} is what the agent claims ({@code X-Chunk-SHA2}),
     * {@code actualSha2} what the body hashed to. A chunk that does not match is not stored.
     */
    public CompletableFuture<Void> storeChunk(UploadInfo info, int pos, String sha2, byte[] data, int length,
                                              String actualSha2) {
        if (!actualSha2.equalsIgnoreCase(sha2.trim())) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.HASH_MISMATCH));
        }
        return store.putChunk(info.stored(), pos, pos == info.count() - 1, sha2.trim(), data, length);
    }

    /** The upload {@code POST /api/fleet/uploads/{id}} completes, found before the agent is authenticated. */
    public CompletableFuture<UploadInfo> completeTarget(String uploadId) {
        return find(uploadId);
    }

    /**
     * Completes an upload once its body ({@code {"transithash":{"sha256"}}}) is read: re-reads its status, checks its
     * chunks and their transit hash, and marks it {@code READY} ({@code {"status":"ok"}}), or marks it
     * {@code UPLOAD_ERROR} and drops its chunks when they do not add up.
     *
     * @param body the request body, null when empty
     */
    public CompletableFuture<ObjectNode> complete(UploadInfo target, JsonNode body) {
        if (body == null || !(body.isObject() || body.isNull())) {
            return CompletableFuture.failedFuture(FleetException.badRequest("unable to decode upload complete request"));
        }
        JsonNode hashNode = body.path("transithash").path("sha256");
        if (!hashNode.isMissingNode() && !hashNode.isNull() && !hashNode.isTextual()
                || !body.path("transithash").isMissingNode() && !body.path("transithash").isNull()
                && !body.path("transithash").isObject()) {
            return CompletableFuture.failedFuture(FleetException.badRequest("unable to decode upload complete request"));
        }
        String transitHash = hashNode.asText("").trim();
        if (transitHash.isEmpty()) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.TRANSIT_HASH_REQUIRED));
        }
        // Read again, not from the check before authentication: another request may have completed it meanwhile.
        return find(target.uploadId()).thenCompose(info -> {
            if (!info.acceptsChunks()) {
                throw new FleetException(FleetError.STATUS_NO_UPLOADS);
            }
            return store.chunks(info.stored(), true).thenCompose(chunks -> {
                if (!allPresent(info, chunks)) {
                    throw new FleetException(FleetError.MISSING_CHUNKS);
                }
                if (!valid(info, chunks, transitHash)) {
                    return setStatus(info, UploadInfo.UPLOAD_ERROR, null)
                            .exceptionally(t -> {
                                LOG.warn("upload {} failed validation; marking it {} failed too: {}", info.uploadId(),
                                        UploadInfo.UPLOAD_ERROR, Futures.unwrap(t).toString());
                                return null;
                            })
                            .thenCompose(v -> store.deleteChunks(info.stored()).exceptionally(t -> {
                                LOG.warn("upload {} failed validation; removing its chunks failed too: {}",
                                        info.uploadId(), Futures.unwrap(t).toString());
                                return null;
                            }))
                            .<ObjectNode>thenApply(v -> {
                                throw new FleetException(FleetError.FAIL_VALIDATION);
                            });
                }
                return setStatus(info, UploadInfo.READY, transitHash).thenApply(v -> {
                    ObjectNode ok = Json.object();
                    ok.put("status", "ok");
                    return ok;
                });
            });
        });
    }

    private CompletableFuture<UploadInfo> find(String uploadId) {
        if (uploadId == null || uploadId.isEmpty() || DocumentIds.problem("upload id", uploadId) != null) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.UPLOAD_NOT_FOUND));
        }
        return store.byUploadId(uploadId).thenApply(found -> UploadInfo.of(
                found.orElseThrow(() -> new FleetException(FleetError.UPLOAD_NOT_FOUND))));
    }

    /** Every chunk from 0 to the last, once each. */
    static boolean allPresent(UploadInfo info, List<UploadStore.StoredChunk> chunks) {
        if (chunks.size() != info.count()) {
            LOG.warn("upload {}: {} chunks stored, {} expected", info.uploadId(), chunks.size(), info.count());
            return false;
        }
        for (int i = 0; i < chunks.size(); i++) {
            if (chunks.get(i).pos() != i) {
                LOG.warn("upload {}: chunk {} is missing", info.uploadId(), i);
                return false;
            }
        }
        return true;
    }

    /**
     * Every chunk but the last is exactly the chunk size and not marked last; the last is marked last and 1 to chunk
     * size bytes; the SHA-256 over the chunks' binary hashes in order is {@code transitHash}.
     */
    static boolean valid(UploadInfo info, List<UploadStore.StoredChunk> chunks, String transitHash) {
        MessageDigest transit = sha256();
        for (int i = 0; i < chunks.size(); i++) {
            UploadStore.StoredChunk c = chunks.get(i);
            if (i < info.count() - 1) {
                if (c.last() || c.size() != info.chunkSize()) {
                    LOG.debug("upload {}: chunk {} is {} bytes, last {}", info.uploadId(), i, c.size(), c.last());
                    return false;
                }
            } else if (!c.last() || c.size() <= 0 || c.size() > info.chunkSize()) {
                LOG.debug("upload {}: final chunk {} is {} bytes, last {}", info.uploadId(), i, c.size(), c.last());
                return false;
            }
            byte[] raw;
            try {
                raw = HexFormat.of().parseHex(c.sha2());
            } catch (IllegalArgumentException e) {
                return false;
            }
            transit.update(raw);
        }
        String computed = HexFormat.of().formatHex(transit.digest());
        if (!computed.equalsIgnoreCase(transitHash)) {
            LOG.warn("upload {}: transit hash {} does not match the chunks' {}", info.uploadId(), transitHash, computed);
            return false;
        }
        return true;
    }

    /** Sets {@code file.Status} (and {@code transithash.sha256} when given), retrying over concurrent writes. */
    private CompletableFuture<Void> setStatus(UploadInfo info, String status, String transitHash) {
        return setStatus(info.stored(), status, transitHash, 1);
    }

    private CompletableFuture<Void> setStatus(UploadStore.Stored stored, String status, String transitHash, int attempt) {
        ObjectNode source = stored.source().deepCopy();
        JsonNode file = source.get("file");
        (file instanceof ObjectNode o ? o : source.putObject("file")).put("Status", status);
        if (transitHash != null) {
            source.putObject("transithash").put("sha256", transitHash);
        }
        return store.replace(stored, source).handle((v, t) -> {
            if (t == null) {
                return CompletableFuture.<Void>completedFuture(null);
            }
            if (Futures.unwrap(t) instanceof StoreException.Conflict && attempt < STATUS_WRITE_TRIES) {
                return store.byUploadId(info(stored).uploadId()).thenCompose(again -> again.isEmpty()
                        ? CompletableFuture.<Void>failedFuture(new FleetException(FleetError.UPLOAD_NOT_FOUND))
                        : setStatus(again.get(), status, transitHash, attempt + 1));
            }
            return CompletableFuture.<Void>failedFuture(Futures.unwrap(t));
        }).thenCompose(f -> f);
    }

    private static UploadInfo info(UploadStore.Stored stored) {
        return UploadInfo.of(stored);
    }

    // --- management API ---

    /**
     * The diagnostics uploads of an agent as Kibana lists them ({@code GET /api/fleet/agents/{id}/uploads}): one item
     * per {@code REQUEST_DIAGNOSTICS} action sent to it, newest first, with the file its answer uploaded:
     * {@code {"items":[{"actionId","id","status","name","createTime","filePath","error"?}]}}.
     */
    public CompletableFuture<ObjectNode> agentUploads(String agentId) {
        return repo.diagnosticsRequestsOf(agentId).thenCompose(actions -> {
            if (actions.isEmpty()) {
                return CompletableFuture.completedFuture(items(Json.array()));
            }
            List<String> ids = actions.stream().map(a -> a.doc().source().path("action_id").asText()).toList();
            return repo.actionResultsOf(agentId, ids)
                    .thenCombine(store.byAgent(agentId), (results, files) -> items(list(actions, results, files)));
        });
    }

    private static ObjectNode items(ArrayNode items) {
        ObjectNode out = Json.object();
        out.set("items", items);
        return out;
    }

    private ArrayNode list(List<Action> actions, List<ObjectNode> results, List<UploadStore.Stored> files) {
        Map<String, JsonNode> resultByAction = new HashMap<>();
        for (ObjectNode r : results) {
            resultByAction.putIfAbsent(r.path("action_id").asText(), r);
        }
        Map<String, UploadStore.Stored> fileByAction = new HashMap<>();
        for (UploadStore.Stored f : files) {
            fileByAction.merge(f.source().path("action_id").asText(), f,
                    (a, b) -> a.source().path("@timestamp").asLong() >= b.source().path("@timestamp").asLong() ? a : b);
        }
        Instant now = clock.instant();
        ArrayNode items = Json.array();
        for (Action action : actions) {
            JsonNode a = action.doc().source();
            String actionId = a.path("action_id").asText();
            String timestamp = a.path("@timestamp").asText(null);
            Instant created = Times.parse(timestamp);
            UploadStore.Stored file = fileByAction.get(actionId);
            JsonNode fileSection = file == null ? null : file.source().path("file");
            if (file != null && UploadInfo.DELETED.equals(fileSection.path("Status").asText())) {
                continue;
            }
            if (file == null && created != null && created.isBefore(now.minus(LIST_WITHOUT_FILE))) {
                continue;
            }
            JsonNode result = resultByAction.get(actionId);
            String error = result == null ? null : result.path("error").asText(null);
            Instant expiration = Times.parse(a.path("expiration").asText(null));
            String name = file != null && fileSection.path("name").isTextual() ? fileSection.path("name").asText()
                    : DIAGNOSTICS_NAME.format(created == null ? now : created);
            String status = file != null ? fileSection.path("Status").asText()
                    : expiration != null && expiration.isBefore(now) ? "EXPIRED" : error != null ? "FAILED" : "IN_PROGRESS";
            ObjectNode item = items.addObject();
            item.put("actionId", actionId);
            item.put("id", file != null ? file.fileId() : actionId);
            item.put("status", status);
            item.put("name", name);
            item.put("createTime", timestamp);
            item.put("filePath", file != null ? downloadPath(file.fileId(), name) : "");
            if (error != null) {
                item.put("error", error);
            }
        }
        return items;
    }

    /** Where the management API serves a file: {@code /api/fleet/agents/files/{fileId}/{fileName}}. */
    public static String downloadPath(String fileId, String name) {
        return "/api/fleet/agents/files/" + pathSegment(fileId) + "/" + pathSegment(name);
    }

    private static String pathSegment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A {@code READY} file to send: its name and type, and its chunks in order (read one by one with {@link #read}). */
    public record Download(UploadStore.Stored upload, String name, String mimeType, List<UploadStore.StoredChunk> chunks) {
    }

    /** The file {@code fileId} for download; 404 when there is none, 400 when it is not complete. */
    public CompletableFuture<Download> download(String fileId) {
        if (DocumentIds.problem("file id", fileId) != null) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file not found"));
        }
        return store.byFileId(fileId).thenCompose(found -> {
            UploadStore.Stored upload = found.orElseThrow(
                    () -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file not found"));
            JsonNode file = upload.source().path("file");
            String status = file.path("Status").asText();
            if (UploadInfo.DELETED.equals(status)) {
                throw new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file not found");
            }
            if (!UploadInfo.READY.equals(status)) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "file is not ready (status " + status + ")");
            }
            return store.chunks(upload, false).thenApply(chunks -> new Download(upload,
                    file.path("name").asText("file"), file.path("mime_type").asText(""), chunks));
        });
    }

    /**
     * Deletes an uploaded file ({@code DELETE /api/fleet/agents/files/{fileId}}, Kibana's answer
     * {@code {"id","deleted":true}}): its metadata is marked {@code DELETED} first, so no download starts after this
     * answer and the listing leaves it out, then its chunks are removed. 404 when there is no such file or it was
     * deleted before. Chunks a failure left behind are freed by the periodic clean-up of abandoned uploads.
     */
    public CompletableFuture<ObjectNode> delete(String fileId) {
        if (DocumentIds.problem("file id", fileId) != null) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file not found"));
        }
        return store.byFileId(fileId).thenCompose(found -> {
            UploadStore.Stored upload = found.orElseThrow(
                    () -> new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file not found"));
            if (UploadInfo.DELETED.equals(upload.source().path("file").path("Status").asText())) {
                throw new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file not found");
            }
            return setStatus(upload, UploadInfo.DELETED, null, 1)
                    .thenCompose(v -> store.deleteChunks(upload))
                    .thenApply(v -> {
                        ObjectNode out = Json.object();
                        out.put("id", fileId);
                        out.put("deleted", true);
                        return out;
                    });
        });
    }

    /** The bytes of chunk {@code i} of a download. */
    public CompletableFuture<byte[]> read(Download download, int i) {
        return store.readChunk(download.upload(), download.chunks().get(i));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
