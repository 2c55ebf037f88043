package dev.fleetserver.netty.route;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.file.LocalFileStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.console.ConsoleRoutes;
import dev.fleetserver.netty.console.ConsoleSessions;
import dev.fleetserver.netty.console.SignInThrottle;
import dev.fleetserver.netty.http.BodyConsumer;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.http.JsonBody;
import dev.fleetserver.netty.http.RouteHandler;
import dev.fleetserver.netty.http.Routes;
import dev.fleetserver.netty.http.YamlBody;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The management API on its own listener, Kibana Fleet API paths and shapes, every call authenticated with
 * {@code Authorization: Bearer <management token>}.
 */
public final class ManagementRoutes {
    private final FleetCore core;
    private final byte[] token;
    private final ConsoleSessions sessions;

    private ManagementRoutes(FleetCore core, String token, ConsoleSessions sessions) {
        this.core = core;
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.sessions = sessions;
    }

    /** The management API without the browser console: only the bearer token authenticates. */
    public static Routes table(FleetCore core, String token) {
        return api(new ManagementRoutes(core, token, null));
    }

    /**
     * The management API and the browser console, whose session cookie authenticates API calls as the bearer token
     * does; wrong tokens tried at the console's sign-in are slowed down by {@code throttle}. The console's
     * {@code GET /ui/api/server} answers {@code server}: the server's own state and measurements.
     */
    public static Routes table(FleetCore core, String token, ConsoleSessions sessions, SignInThrottle throttle,
                               Supplier<ObjectNode> server) {
        ManagementRoutes r = new ManagementRoutes(core, token, sessions);
        Routes api = api(r).add(HttpMethod.GET, "/ui/api/server", BodyLimits.DEFAULT,
                r.json(ex -> CompletableFuture.completedFuture(server.get())));
        return ConsoleRoutes.addTo(api, token, sessions, throttle);
    }

    private static Routes api(ManagementRoutes r) {
        FleetCore core = r.core;
        var policies = core.policyAdmin();
        var keys = core.enrollmentKeyAdmin();
        var admin = core.agentAdmin();
        return new Routes()
                .add(HttpMethod.GET, "/api/fleet/agent_policies", BodyLimits.DEFAULT, r.json(ex -> policies.listPolicies(
                        boolParam(Routes.query(ex.uri()), "full", true))))
                .add(HttpMethod.POST, "/api/fleet/agent_policies/delete", BodyLimits.DEFAULT, r.withBody((ex, body) -> policies.deletePolicy(body)))
                .add(HttpMethod.GET, "/api/fleet/enrollment_api_keys", BodyLimits.DEFAULT, r.json(ex -> {
                    Map<String, String> q = Routes.query(ex.uri());
                    return keys.listEnrollmentKeys(intParam(q, "page", 1), intParam(q, "perPage", 20));
                }))
                .add(HttpMethod.DELETE, "/api/fleet/enrollment_api_keys/{id}", BodyLimits.DEFAULT,
                        r.json(ex -> keys.revokeEnrollmentKey(ex.param("id"))))
                .add(HttpMethod.GET, "/api/fleet/agent_status", BodyLimits.DEFAULT,
                        r.json(ex -> admin.agentStatus(Routes.query(ex.uri()).get("policyId"))))
                .add(HttpMethod.GET, "/api/fleet/agents/summary", BodyLimits.DEFAULT, r.json(ex -> admin.summary()))
                .add(HttpMethod.GET, "/api/fleet/agents/{id}/actions", BodyLimits.DEFAULT, r.json(ex -> admin.agentActions(ex.param("id"))))
                .add(HttpMethod.GET, "/api/fleet/actions/{actionId}/results", BodyLimits.DEFAULT,
                        r.json(ex -> admin.actionResults(ex.param("actionId"))))
                .add(HttpMethod.GET, "/api/fleet/agents/action_status", BodyLimits.DEFAULT,
                        r.json(ex -> admin.actionStatus(intParam(Routes.query(ex.uri()), "perPage", 20))))
                .add(HttpMethod.POST, "/api/fleet/agents/bulk_unenroll", BodyLimits.MANAGEMENT, r.withBody((ex, body) -> admin.bulkUnenroll(body)))
                .add(HttpMethod.POST, "/api/fleet/agents/bulk_upgrade", BodyLimits.MANAGEMENT, r.withBody((ex, body) -> admin.bulkUpgrade(body)))
                .add(HttpMethod.POST, "/api/fleet/agents/bulk_reassign", BodyLimits.MANAGEMENT, r.withBody((ex, body) -> admin.bulkReassign(body)))
                .add(HttpMethod.PUT, "/api/fleet/agents/{id}", BodyLimits.DEFAULT, r.withBody((ex, body) -> admin.update(ex.param("id"), body)))
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/unenroll", BodyLimits.DEFAULT,
                        r.withOptionalBody((ex, body) -> admin.unenroll(ex.param("id"), body)))
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/upgrade", BodyLimits.DEFAULT, r.withBody((ex, body) -> admin.upgrade(ex.param("id"), body)))
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/reassign", BodyLimits.DEFAULT,
                        r.withBody((ex, body) -> admin.reassign(ex.param("id"), body)))
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/actions", BodyLimits.DEFAULT, r.withBody((ex, body) -> admin.action(ex.param("id"), body)))
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/request_diagnostics", BodyLimits.DEFAULT,
                        r.withOptionalBody((ex, body) -> admin.requestDiagnostics(ex.param("id"), body)))
                .add(HttpMethod.POST, "/api/fleet/agent_policies", BodyLimits.MANAGEMENT, r.withBody((ex, body) -> policies.createPolicy(body)))
                .add(HttpMethod.GET, "/api/fleet/agent_policies/{id}", BodyLimits.DEFAULT, r.json(ex -> policies.getPolicy(ex.param("id"))))
                .add(HttpMethod.GET, "/api/fleet/agent_policies/{id}/revisions", BodyLimits.DEFAULT,
                        r.json(ex -> policies.listRevisions(ex.param("id"))))
                .add(HttpMethod.GET, "/api/fleet/agent_policies/{id}/revisions/{revision}", BodyLimits.DEFAULT,
                        r.json(ex -> policies.getRevision(ex.param("id"), ex.param("revision"))))
                .add(HttpMethod.GET, "/api/fleet/agent_policies/{id}/rollout", BodyLimits.DEFAULT,
                        r.json(ex -> policies.rollout(ex.param("id"))))
                .add(HttpMethod.PUT, "/api/fleet/agent_policies/{id}", BodyLimits.MANAGEMENT,
                        r.withBody((ex, body) -> policies.updatePolicy(ex.param("id"), body)))
                .add(HttpMethod.POST, "/api/fleet/enrollment_api_keys", BodyLimits.DEFAULT, r.withBody((ex, body) -> keys.createEnrollmentKey(body)))
                .add(HttpMethod.GET, "/api/fleet/agents", BodyLimits.DEFAULT, r.json(ex -> {
                    Map<String, String> q = Routes.query(ex.uri());
                    return admin.listAgents(intParam(q, "page", 1), intParam(q, "perPage", 20), q.get("kuery"),
                            Boolean.parseBoolean(q.getOrDefault("showInactive", "false")));
                }))
                .add(HttpMethod.GET, "/api/fleet/agents/{id}", BodyLimits.DEFAULT, r.json(ex -> admin.getAgent(ex.param("id"))))
                .add(HttpMethod.GET, "/api/fleet/agents/{id}/uploads", BodyLimits.DEFAULT,
                        r.json(ex -> AgentFileDownload.uploads(core).agentUploads(ex.param("id"))))
                .add(HttpMethod.GET, "/api/fleet/agents/files/{fileId}/{fileName}", BodyLimits.DEFAULT,
                        ex -> {
                            if (r.authorized(ex)) {
                                AgentFileDownload.handle(core, ex);
                            }
                        })
                .add(HttpMethod.DELETE, "/api/fleet/agents/files/{fileId}", BodyLimits.DEFAULT,
                        r.json(ex -> AgentFileDownload.uploads(core).delete(ex.param("fileId"))))
                .add(HttpMethod.PUT, "/api/fleet/artifacts/{identifier}", ARTIFACT_LIMITS,
                        r.withBody((ex, body) -> core.artifactAdmin().put(ex.param("identifier"), body)))
                .add(HttpMethod.GET, "/api/fleet/artifacts/{identifier}/{sha256}", BodyLimits.DEFAULT,
                        r.json(ex -> core.artifactAdmin().get(ex.param("identifier"), ex.param("sha256"))))
                .add(HttpMethod.DELETE, "/api/fleet/artifacts/{identifier}/{sha256}", BodyLimits.DEFAULT,
                        r.json(ex -> core.artifactAdmin().delete(ex.param("identifier"), ex.param("sha256"))))
                .add(HttpMethod.POST, "/api/fleet/files", BodyLimits.DEFAULT, r.withBody((ex, body) -> r.localFiles().create(body)))
                .add(HttpMethod.PUT, "/api/fleet/files/{id}/blob", FILE_LIMITS, r::fileBlob)
                .add(HttpMethod.GET, "/api/fleet/files/{id}", BodyLimits.DEFAULT, r.json(ex -> r.localFiles().get(ex.param("id"))))
                .add(HttpMethod.DELETE, "/api/fleet/files/{id}", BodyLimits.DEFAULT, r.json(ex -> r.localFiles().delete(ex.param("id"))));
    }

    /** An artifact's JSON, its body base64: Endpoint's largest lists are tens of MiB. */
    static final BodyLimits ARTIFACT_LIMITS = new BodyLimits(64 * BodyLimits.MIB, 64 * BodyLimits.MIB);
    /** A file for agents, streamed to disk as it arrives. */
    public static final BodyLimits FILE_LIMITS = new BodyLimits(1024 * BodyLimits.MIB, 1024 * BodyLimits.MIB);

    /** The files published here; only on the embedded store (on Elasticsearch, Kibana publishes them). */
    private LocalFileStore localFiles() {
        if (core.deliveryStore() instanceof LocalFileStore files) {
            return files;
        }
        throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST,
                "files for agents are published by Kibana when the server runs on Elasticsearch");
    }

    /**
     * {@code PUT /api/fleet/files/{id}/blob}: the file's content, any media type, streamed to disk as it arrives and
     * made durable before the file becomes READY; answers the file's item.
     */
    private void fileBlob(Exchange ex) {
        if (!authorized(ex)) {
            return;
        }
        String id = ex.param("id");
        boolean yaml = wantsYaml(ex);
        ex.releaseRequest();
        LocalFileStore files = localFiles();
        answer(ex, yaml, files.upload(id).thenCompose(upload -> ex.readBody(new UploadBody(upload),
                        e -> new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "cannot store the content: " + e.getMessage()))
                .handle((u, t) -> {
                    if (t != null) {
                        upload.abort();
                        throw t instanceof RuntimeException re ? re : new java.util.concurrent.CompletionException(t);
                    }
                    return u;
                })
                .thenCompose(LocalFileStore.Upload::commit)));
    }

    /** Hands each piece of the body to the upload; holds nothing itself. */
    private record UploadBody(LocalFileStore.Upload upload) implements BodyConsumer<LocalFileStore.Upload> {
        @Override
        public void accept(io.netty.buffer.ByteBuf piece) throws java.io.IOException {
            for (java.nio.ByteBuffer b : piece.nioBuffers()) {
                upload.write(b);
            }
        }

        @Override
        public LocalFileStore.Upload finish() {
            return upload;
        }

        @Override
        public long retainedBytes() {
            return 0;
        }
    }

    /** Authenticates, runs {@code op}, answers 200 with its JSON; the request has no body. */
    private RouteHandler json(Function<Exchange, CompletableFuture<ObjectNode>> op) {
        return ex -> {
            if (!authorized(ex)) {
                return;
            }
            boolean yaml = wantsYaml(ex);
            CompletableFuture<ObjectNode> result;
            try {
                result = op.apply(ex);
            } finally {
                ex.releaseRequest();
            }
            answer(ex, yaml, result);
        };
    }

    /** Authenticates, then reads the JSON body (required) and runs {@code op} with it. */
    private RouteHandler withBody(BiFunction<Exchange, JsonNode, CompletableFuture<ObjectNode>> op) {
        return withBody(op, false);
    }

    /** As {@link #withBody}, an empty body read as {@code {}} (Kibana lets these calls omit it). */
    private RouteHandler withOptionalBody(BiFunction<Exchange, JsonNode, CompletableFuture<ObjectNode>> op) {
        return withBody(op, true);
    }

    private RouteHandler withBody(BiFunction<Exchange, JsonNode, CompletableFuture<ObjectNode>> op, boolean optional) {
        return ex -> {
            if (!authorized(ex)) {
                return;
            }
            boolean yamlBody = YamlBody.isYaml(ex.header(HttpHeaderNames.CONTENT_TYPE));
            answer(ex, wantsYaml(ex), ex.readBody(yamlBody ? new YamlBody() : new JsonBody(),
                            e -> syntaxError(yamlBody ? "YAML" : "JSON", e))
                    .thenCompose(body -> {
                        JsonNode b = body;
                        if (b == null) {
                            if (!optional) {
                                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "a JSON body is required");
                            }
                            b = Json.object();
                        }
                        try {
                            return op.apply(ex, b);
                        } finally {
                            ex.releaseRequest();
                        }
                    }));
        };
    }

    /**
     * False, with the answer sent, when the request has neither the management token nor a console session (401), or
     * makes a change with a session from another origin than the console's (403).
     */
    private boolean authorized(Exchange ex) {
        String header = ex.header(HttpHeaderNames.AUTHORIZATION);
        if (header != null && header.startsWith("Bearer ")
                && MessageDigest.isEqual(token, header.substring("Bearer ".length()).trim().getBytes(StandardCharsets.UTF_8))) {
            return true;
        }
        if (header == null && sessions != null && ConsoleRoutes.signedIn(ex, sessions)) {
            if (ConsoleRoutes.sameOrigin(ex)) {
                return true;
            }
            // A live session, so not "signed out": say why, for a proxy that rewrites Host shows up here.
            ex.releaseRequest();
            ex.fail(new FleetException(FleetError.MANAGEMENT_FORBIDDEN,
                    "a change made with the console's session must come from the console's own origin (Origin must match Host)"));
            return false;
        }
        ex.releaseRequest();
        ex.fail(new FleetException(FleetError.MANAGEMENT_UNAUTHORIZED));
        return false;
    }

    /** A body that does not parse, with where it fails so an editor can point at the line. */
    private static FleetException syntaxError(String format, java.io.IOException e) {
        String where = "";
        if (e instanceof JsonProcessingException j && j.getLocation() != null && j.getLocation().getLineNr() > 0) {
            where = " at line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr();
        }
        return new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "invalid " + format + where + ": " + Json.reason(e));
    }

    /** 200 with the answer as JSON, or as YAML (see {@link #wantsYaml}) when the request's {@code Accept} asks for YAML and not JSON. */
    private static void answer(Exchange ex, boolean yaml, CompletableFuture<ObjectNode> result) {
        result.whenComplete((body, t) -> {
            if (t != null) {
                ex.fail(t);
            } else if (yaml) {
                ex.respond(HttpResponseStatus.OK, "application/yaml; charset=utf-8", YamlBody.write(body));
            } else {
                ex.respondJson(HttpResponseStatus.OK, body);
            }
        });
    }

    /** Read before the request head is released. */
    private static boolean wantsYaml(Exchange ex) {
        String accept = ex.header(HttpHeaderNames.ACCEPT);
        return accept != null && accept.contains("yaml") && !accept.contains("json");
    }

    private static boolean boolParam(Map<String, String> q, String name, boolean dflt) {
        String v = q.get(name);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        if (v.equals("true") || v.equals("false")) {
            return Boolean.parseBoolean(v);
        }
        throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request query." + name + "]: expected true or false");
    }

    private static int intParam(Map<String, String> q, String name, int dflt) {
        String v = q.get(name);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request query." + name + "]: expected a number");
        }
    }
}
