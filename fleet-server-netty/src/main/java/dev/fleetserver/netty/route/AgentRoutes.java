package dev.fleetserver.netty.route;

import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.StatusService;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.http.Routes;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The agent-facing endpoints: each translates HTTP to one core call and the result back. Errors all go through
 * {@link Exchange#fail}, which maps them in one place.
 */
public final class AgentRoutes {
    private static final io.netty.util.AsciiString PRODUCT_ORIGIN = io.netty.util.AsciiString.cached("X-elastic-product-origin");
    private static final io.netty.util.AsciiString X_FILE_SHA2 = io.netty.util.AsciiString.cached("X-File-SHA2");
    private final FleetCore core;

    private AgentRoutes(FleetCore core) {
        this.core = core;
    }

    public static Routes table(FleetCore core) {
        return table(core, PgpKeyRoute.of(dev.fleetserver.netty.config.PgpConfig.defaults(), java.nio.file.Path.of(".")));
    }

    public static Routes table(FleetCore core, PgpKeyRoute pgp) {
        AgentRoutes r = new AgentRoutes(core);
        Routes routes = new Routes()
                .add(HttpMethod.GET, "/api/status", BodyLimits.DEFAULT, r::status)
                .add(HttpMethod.POST, "/api/fleet/agents/enroll", BodyLimits.ENROLL, r::enroll)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/checkin", BodyLimits.CHECKIN, r::checkin)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/acks", BodyLimits.ACKS, r::acks)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/audit/unenroll", BodyLimits.AUDIT_UNENROLL, r::auditUnenroll)
                .add(HttpMethod.GET, "/api/fleet/artifacts/{id}/{sha2}", BodyLimits.DEFAULT, r::artifact)
                .add(HttpMethod.GET, "/api/fleet/file/{id}", BodyLimits.DEFAULT, r::file)
                .add(HttpMethod.GET, "/api/agents/upgrades/{version}/pgp-public-key", BodyLimits.DEFAULT, pgp::handle);
        return UploadRoutes.addTo(routes, core);
    }

    /** {@code GET /api/status}: 200 only when HEALTHY, 503 with the same body otherwise. */
    private void status(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        ex.releaseRequest();
        core.status().status(authorization).whenComplete((body, t) -> {
            if (t != null) {
                ex.fail(t);
                return;
            }
            boolean healthy = StatusService.State.HEALTHY.name().equals(body.path("status").asText());
            ex.respondJson(healthy ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        });
    }

    /** {@code POST /api/fleet/agents/enroll}: the key, User-Agent and enrollment record checked before the body is read. */
    private void enroll(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String userAgent = ex.header(HttpHeaderNames.USER_AGENT);
        ex.releaseRequest();
        var enroll = core.enroll();
        enroll.admit(authorization, userAgent)
                .thenCompose(admitted -> ex.readJson("enroll").thenCompose(body -> enroll.enroll(admitted, body)))
                .whenComplete((resp, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respondJson(HttpResponseStatus.OK, resp);
                    }
                });
    }

    /** {@code POST /api/fleet/agents/{id}/checkin}: authenticate, read the body, then hand the exchange to core as the sink. */
    private void checkin(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String userAgent = ex.header(HttpHeaderNames.USER_AGENT);
        String agentId = ex.param("id");
        ex.releaseRequest();
        core.auth().authenticateAgent(authorization, agentId)
                .thenCompose(agent -> ex.readJson("checkin").thenAccept(body ->
                        core.checkin().checkin(agent, userAgent, body, ex.startNanos(), ex)))
                .whenComplete((v, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    }
                });
    }

    /**
     * {@code GET /api/fleet/artifacts/{id}/{sha2}}: the artifact's stored bytes, from the buffer every answer for it
     * shares. No {@code Content-Type} of its own in the original (Go sniffs one): compressed artifacts are
     * {@code application/octet-stream}, plain-text ones {@code text/plain; charset=utf-8}.
     */
    private void artifact(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String id = ex.param("id");
        String sha2 = ex.param("sha2");
        ex.releaseRequest();
        core.artifacts().fetch(authorization, id, sha2).whenComplete((artifact, t) -> {
            if (t != null) {
                ex.fail(t);
            } else {
                ex.respondShared(HttpResponseStatus.OK, sniffedType(artifact.body()), artifact.body());
            }
        });
    }

    /** What Go's content sniffing answers for these bodies: text when the first 512 bytes hold no binary byte. */
    static String sniffedType(java.nio.ByteBuffer body) {
        int n = Math.min(512, body.capacity());
        for (int i = 0; i < n; i++) {
            int b = body.get(i) & 0xff;
            if (b <= 0x08 || b == 0x0B || (b >= 0x0E && b <= 0x1A) || (b >= 0x1C && b <= 0x1F)) {
                return "application/octet-stream";
            }
        }
        return "text/plain; charset=utf-8";
    }

    /**
     * {@code GET /api/fleet/file/{id}[?source=<library>]}: the file streamed chunk by chunk; one {@code Range} gives
     * 206 with {@code Content-Range}, several 416, one that cannot be satisfied 416 with {@code Content-Range: bytes
     * *}{@code /<size>}; a range adding up to more than the file is ignored (the whole file, 200), as the original.
     */
    private void file(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String id = ex.param("id");
        String source = Routes.query(ex.uri()).get("source");
        String origin = ex.header(PRODUCT_ORIGIN);
        String range = ex.header(HttpHeaderNames.RANGE);
        ex.releaseRequest();
        core.fileDelivery().find(authorization, id, source, origin).whenComplete((file, t) -> {
            if (t != null) {
                ex.fail(t);
                return;
            }
            java.util.List<HttpRange> ranges;
            try {
                ranges = HttpRange.parse(range, file.size());
            } catch (HttpRange.Invalid e) {
                ex.fail(new FleetException(FleetError.RANGE_NOT_SATISFIABLE), HttpHeaderNames.CONTENT_RANGE, "bytes */" + file.size());
                return;
            }
            if (ranges.stream().mapToLong(HttpRange::length).sum() > file.size()) {
                ranges = java.util.List.of();
            }
            java.util.Map<CharSequence, Object> headers = new java.util.LinkedHashMap<>();
            headers.put(HttpHeaderNames.ACCEPT_RANGES, "bytes");
            headers.put(HttpHeaderNames.CONTENT_TYPE, file.mimeType() == null || file.mimeType().isEmpty()
                    ? "application/octet-stream" : file.mimeType());
            if (file.sha256() != null && !file.sha256().isEmpty()) {
                headers.put(X_FILE_SHA2, file.sha256());
            }
            if (ranges.isEmpty()) {
                ex.stream(HttpResponseStatus.OK, headers, file.size(), file.readAll());
                return;
            }
            if (ranges.size() > 1) {
                ex.fail(new FleetException(FleetError.MULTI_RANGE_NOT_SATISFIABLE));
                return;
            }
            HttpRange r = ranges.get(0);
            dev.fleetserver.core.file.PieceReader reader;
            try {
                reader = file.read(r.start(), r.length());
            } catch (FleetException e) {
                ex.fail(e);
                return;
            }
            headers.put(HttpHeaderNames.CONTENT_RANGE, r.contentRange(file.size()));
            ex.stream(HttpResponseStatus.PARTIAL_CONTENT, headers, r.length(), reader);
        });
    }

    /** {@code POST /api/fleet/agents/{id}/acks}: HTTP status is the highest item status. */
    private void acks(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String agentId = ex.param("id");
        ex.releaseRequest();
        core.auth().authenticateAgent(authorization, agentId)
                .thenCompose(agent -> ex.readJson("ack").thenCompose(body -> core.acks().ack(agent, body)))
                .whenComplete((result, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respondJson(HttpResponseStatus.valueOf(result.httpStatus()), result.body());
                    }
                });
    }

    /**
     * {@code POST /api/fleet/agents/{id}/audit/unenroll}: 200 with an empty body. An agent already marked orphaned
     * is refused before its body is read.
     */
    private void auditUnenroll(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String agentId = ex.param("id");
        ex.releaseRequest();
        var audit = core.audit();
        core.auth().authenticateAgent(authorization, agentId)
                .thenCompose(agent -> {
                    audit.admit(agent);
                    return ex.readJson("audit/unenroll").thenCompose(body -> audit.unenroll(agent, body));
                })
                .whenComplete((v, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respond(HttpResponseStatus.OK, null);
                    }
                });
    }
}
