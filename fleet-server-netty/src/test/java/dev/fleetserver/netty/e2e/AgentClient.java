package dev.fleetserver.netty.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * An HTTP client that talks like Elastic Agent 9.6: every request target ends in {@code ?}, the agent's headers
 * ({@code User-Agent: Elastic Agent v9.6.0}, {@code Elastic-Api-Version}, {@code X-Request-ID}, {@code kbn-xsrf}),
 * gzip-compressed checkin bodies and {@code Accept-Encoding: gzip} with transparent gunzip of answers.
 */
public final class AgentClient {
    public static final String USER_AGENT = "Elastic Agent v9.6.0";
    private final HttpClient http;
    private final String base;
    private final String userAgent;

    public AgentClient(int port) {
        this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build(), "http://127.0.0.1:" + port, USER_AGENT);
    }

    /** A client speaking HTTPS with {@code tls} (trusted CAs, client certificate). */
    public AgentClient(int port, javax.net.ssl.SSLContext tls) {
        this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(tls).build(), "https://127.0.0.1:" + port,
                USER_AGENT);
    }

    private AgentClient(HttpClient http, String base, String userAgent) {
        this.http = http;
        this.base = base;
        this.userAgent = userAgent;
    }

    /** The same server, as an agent of another version ({@code Elastic Agent v<version>}). */
    public AgentClient asVersion(String version) {
        return new AgentClient(http, base, "Elastic Agent v" + version);
    }

    /** A decoded answer. */
    public record Reply(int status, Map<String, java.util.List<String>> headers, byte[] raw, String body) {
        public JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + body, e);
            }
        }

        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .flatMap(e -> e.getValue().stream()).findFirst().orElse(null);
        }
    }

    public Reply enroll(String enrollmentToken, ObjectNode body) {
        return send(request("/api/fleet/agents/enroll").header("Authorization", "ApiKey " + enrollmentToken)
                .POST(HttpRequest.BodyPublishers.ofString(Json.string(body))).build());
    }

    /** Enrolls with the agent's usual body; returns the {@code item}. */
    public JsonNode enroll(String enrollmentToken) {
        Reply r = enroll(enrollmentToken, enrollBody());
        if (r.status() != 200) {
            throw new AssertionError("enroll failed: " + r.status() + " " + r.body());
        }
        return r.json().get("item");
    }

    public static ObjectNode enrollBody() {
        ObjectNode body = Json.object();
        body.put("type", "PERMANENT");
        body.put("id", "");
        body.put("replace_token", "");
        ObjectNode meta = body.putObject("metadata");
        ObjectNode local = meta.putObject("local");
        local.putObject("elastic").putObject("agent").put("id", "local-id").put("version", "9.6.0");
        local.putObject("host").put("hostname", "test-host");
        meta.putObject("user_provided");
        meta.putNull("tags");
        return body;
    }

    /** A checkin body like the agent's first one. */
    public static ObjectNode checkinBody(String status) {
        ObjectNode body = Json.object();
        body.put("status", status);
        body.putObject("local_metadata").putObject("host").put("hostname", "test-host");
        body.put("message", "Running");
        body.putNull("components");
        body.putObject("upgrade");
        return body;
    }

    public Reply checkin(String agentId, String accessKey, ObjectNode body) {
        return join(checkinAsync(agentId, accessKey, body));
    }

    public CompletableFuture<Reply> checkinAsync(String agentId, String accessKey, ObjectNode body) {
        HttpRequest req = request("/api/fleet/agents/" + agentId + "/checkin")
                .header("Authorization", "ApiKey " + accessKey)
                .header("Content-Encoding", "gzip")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(gzip(Json.bytes(body)))).build();
        return sendAsync(req);
    }

    public Reply acks(String agentId, String accessKey, ObjectNode body) {
        return send(request("/api/fleet/agents/" + agentId + "/acks").header("Authorization", "ApiKey " + accessKey)
                .POST(HttpRequest.BodyPublishers.ofString(Json.string(body))).build());
    }

    /** {@code POST /api/fleet/agents/{id}/audit/unenroll} as the agent's uninstall sends it. */
    public Reply auditUnenroll(String agentId, String accessKey, String reason, String timestamp) {
        ObjectNode body = Json.object();
        body.put("reason", reason);
        body.put("timestamp", timestamp);
        return auditUnenroll(agentId, accessKey, Json.string(body));
    }

    /** The audit/unenroll request with any body. */
    public Reply auditUnenroll(String agentId, String accessKey, String body) {
        return send(request("/api/fleet/agents/" + agentId + "/audit/unenroll").header("Authorization", "ApiKey " + accessKey)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** A policy ack event as the agent sends it. */
    public static ObjectNode ackEvents(String agentId, String... actionIds) {
        ObjectNode body = Json.object();
        var events = body.putArray("events");
        for (String id : actionIds) {
            ObjectNode e = events.addObject();
            e.put("action_id", id);
            e.put("agent_id", agentId);
            e.put("message", "Action \"" + id + "\" acknowledged.");
            e.put("subtype", "ACKNOWLEDGED");
            e.put("timestamp", "2026-01-01T00:00:00.123456789+01:00");
            e.put("type", "ACTION_RESULT");
        }
        return body;
    }

    public Reply status(String authorization) {
        HttpRequest.Builder b = request("/api/status").GET();
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return send(b.build());
    }

    /** A request with the agent's standard headers, for tests that need to vary something. */
    public HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path + "?"))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .header("kbn-xsrf", "1")
                .header("X-Request-ID", java.util.UUID.randomUUID().toString())
                .header("Elastic-Api-Version", "2023-06-01")
                .header("User-Agent", userAgent)
                .header("Accept-Encoding", "gzip")
                .timeout(Duration.ofSeconds(30));
    }

    public Reply send(HttpRequest request) {
        return join(sendAsync(request));
    }

    public CompletableFuture<Reply> sendAsync(HttpRequest request) {
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).thenApply(r -> {
            byte[] raw = r.body();
            boolean gz = r.headers().firstValue("Content-Encoding").map("gzip"::equalsIgnoreCase).orElse(false);
            byte[] plain = gz ? gunzip(raw) : raw;
            return new Reply(r.statusCode(), r.headers().map(), raw, new String(plain, StandardCharsets.UTF_8));
        });
    }

    private static Reply join(CompletableFuture<Reply> f) {
        try {
            return f.get(90, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("request failed", e);
        }
    }

    public static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static byte[] gunzip(byte[] data) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(data))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
