package dev.fleetserver.netty.route;

import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.upload.UploadService;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.ChunkBody;
import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.http.Routes;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AsciiString;
import java.util.List;

/**
 * File uploads from agents ({@code uploadBegin}, {@code uploadChunk}, {@code uploadComplete}), in the original's
 * order of checks: begin authenticates the key, reads the body and then checks that the agent it names is the key's;
 * chunk and complete find the upload first (unknown, expired, stopped, bad chunk number are answered before the
 * agent is authenticated) and authenticate its agent before reading the body.
 */
final class UploadRoutes {
    /** Upload begin: the metadata, at most 5 MiB (413 beyond). */
    static final BodyLimits BEGIN = new BodyLimits(5 * BodyLimits.MIB, 5 * BodyLimits.MIB);
    /** A chunk: at most one chunk size, never more (the array it is gathered into is bounded by it too). */
    static final BodyLimits CHUNK = new BodyLimits(UploadService.CHUNK_SIZE, UploadService.CHUNK_SIZE);
    /** Upload complete: the transit hash, at most 1024 bytes (413 beyond). */
    static final BodyLimits COMPLETE = new BodyLimits(1024, 1024);
    static final AsciiString X_CHUNK_SHA2 = AsciiString.cached("X-Chunk-SHA2");

    private final FleetCore core;

    private UploadRoutes(FleetCore core) {
        this.core = core;
    }

    static Routes addTo(Routes routes, FleetCore core) {
        UploadRoutes r = new UploadRoutes(core);
        return routes
                .add(HttpMethod.POST, "/api/fleet/uploads", BEGIN, r::begin)
                .add(HttpMethod.PUT, "/api/fleet/uploads/{id}/{chunkNum}", CHUNK, r::chunk)
                .add(HttpMethod.POST, "/api/fleet/uploads/{id}", COMPLETE, r::complete);
    }

    private UploadService uploads() {
        UploadService u = core.uploads();
        if (u == null) {
            throw new FleetException(FleetError.FILE_FEATURE_DISABLED);
        }
        return u;
    }

    /** {@code POST /api/fleet/uploads}: 200 {@code {"chunk_size","upload_id"}}. */
    private void begin(Exchange ex) {
        List<String> authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        ex.releaseRequest();
        UploadService uploads = uploads();
        core.auth().authenticateKey(authorization)
                .thenCompose(key -> ex.readJson(e -> FleetException.badRequest(
                        "unable to decode upload begin request: " + dev.fleetserver.core.util.Json.reason(e))))
                .thenCompose(body -> uploads.begin(authorization, body))
                .whenComplete((resp, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respondJson(HttpResponseStatus.OK, resp);
                    }
                });
    }

    /** {@code PUT /api/fleet/uploads/{id}/{chunkNum}} with {@code X-Chunk-SHA2}: 200 with an empty body. */
    private void chunk(Exchange ex) {
        List<String> authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String uploadId = ex.param("id");
        String chunkNum = ex.param("chunkNum");
        List<String> sha2 = ex.headers(X_CHUNK_SHA2);
        long announced = contentLength(ex.header(HttpHeaderNames.CONTENT_LENGTH));
        ex.releaseRequest();
        if (sha2.isEmpty()) {
            throw FleetException.badRequest("Header parameter X-Chunk-SHA2 is required, but not found");
        }
        if (sha2.size() > 1) {
            throw FleetException.badRequest("Expected one value for X-Chunk-SHA2, got " + sha2.size());
        }
        int pos;
        try {
            pos = Integer.parseInt(chunkNum);
        } catch (NumberFormatException e) {
            throw FleetException.badRequest("Invalid format for parameter chunkNum: " + chunkNum);
        }
        UploadService uploads = uploads();
        uploads.chunkTarget(uploadId, pos)
                .thenCompose(info -> core.auth().authenticateAgent(authorization, info.agentId())
                        .thenCompose(agent -> ex.readBody(new ChunkBody(announced, UploadService.CHUNK_SIZE),
                                e -> FleetException.badRequest("unable to read chunk: " + e.getMessage())))
                        .thenCompose(chunk -> uploads.storeChunk(info, pos, sha2.get(0), chunk.data(), chunk.length(),
                                chunk.sha256())))
                .whenComplete((v, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respond(HttpResponseStatus.OK, null);
                    }
                });
    }

    /** {@code POST /api/fleet/uploads/{id}} with {@code {"transithash":{"sha256"}}}: 200 {@code {"status":"ok"}}. */
    private void complete(Exchange ex) {
        List<String> authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String uploadId = ex.param("id");
        ex.releaseRequest();
        UploadService uploads = uploads();
        uploads.completeTarget(uploadId)
                .thenCompose(info -> core.auth().authenticateAgent(authorization, info.agentId())
                        .thenCompose(agent -> ex.readJson(e -> FleetException.badRequest(
                                "unable to decode upload complete request")))
                        .thenCompose(body -> uploads.complete(info, body)))
                .whenComplete((resp, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respondJson(HttpResponseStatus.OK, resp);
                    }
                });
    }

    private static long contentLength(String header) {
        if (header == null) {
            return -1;
        }
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
