package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.FleetDaemon;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Helpers shared by the protocol end-to-end tests: bounded waits, the management API, direct store access, agents
 * brought to a known state, and a raw HTTP/1.1 connection for what a real client hides (pipelining, disconnects,
 * oversized declarations).
 */
final class E2eSupport {
    static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private E2eSupport() {
    }

    // --- waiting ---

    /** Polls {@code condition} until it holds; fails after {@link #DEADLINE}. */
    static void await(String what, BooleanSupplier condition) {
        await(DEADLINE, what, condition);
    }

    /** Polls {@code condition} until it holds; fails after {@code limit}. */
    static void await(java.time.Duration limit, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not true after " + limit.toSeconds() + " s: " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
    }

    static void awaitParked(FleetDaemon fleet, int count) {
        await(count + " parked checkin(s)", () -> fleet.core().checkin().registry().size() == count);
    }

    /** An HTTP exchange: {@code body} (JSON, or none when null) and header name/value pairs, answered as text. */
    static HttpResponse<String> send(HttpClient client, URI uri, String method, String body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Waits until the server's action feed has read up to {@code seqNo}. The server follows the actions index
     * asynchronously, so a checkin right after indexing may answer with only the actions it has seen so far.
     */
    static void awaitActionsSeen(FleetDaemon fleet, long seqNo) {
        await("the server has seen actions up to _seq_no " + seqNo, () -> fleet.core().actions().checkpoint() >= seqNo);
    }

    // --- assertions ---

    /** The original's error answer: status, exact {@code {"statusCode","error","message"}} body and its two headers. */
    static void assertError(AgentClient.Reply r, int status, String error, String message) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        ObjectNode expected = Json.object().put("statusCode", status).put("error", error).put("message", message);
        assertThat(r.json()).isEqualTo(expected);
        assertErrorHeaders(r);
    }

    /** Status, {@code statusCode} and {@code error} of an error answer, and its headers; returns the message. */
    static String assertErrorKind(AgentClient.Reply r, int status, String error) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.json().get("statusCode").asInt()).isEqualTo(status);
        assertThat(r.json().get("error").asText()).isEqualTo(error);
        assertErrorHeaders(r);
        return r.json().get("message").asText();
    }

    static void assertErrorHeaders(AgentClient.Reply r) {
        assertThat(r.header("Content-Type")).isEqualTo("application/json; charset=utf-8");
        assertThat(r.header("X-Content-Type-Options")).isEqualTo("nosniff");
    }

    // --- management API ---

    static AgentClient.Reply management(FleetDaemon fleet, String method, String path, String body) {
        return managementAs(fleet, "Bearer " + fleet.managementToken(), method, path, body);
    }

    /** A management call with the given {@code Authorization} value (none when null). */
    static AgentClient.Reply managementAs(FleetDaemon fleet, String authorization, String method, String path, String body) {
        return call(fleet, authorization, method, path, body, "Content-Type", "application/json");
    }

    /** A management call with the management token and these headers (name, value, name, value…). */
    static AgentClient.Reply managementWith(FleetDaemon fleet, String method, String path, String body, String... headers) {
        return call(fleet, "Bearer " + fleet.managementToken(), method, path, body, headers);
    }

    private static AgentClient.Reply call(FleetDaemon fleet, String authorization, String method, String path,
                                          String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fleet.managementPort() + path))
                .headers(headers)
                .timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        try {
            HttpResponse<byte[]> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new AgentClient.Reply(r.statusCode(), r.headers().map(), r.body(), new String(r.body(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A management call that must succeed; returns its JSON. */
    static JsonNode managementOk(FleetDaemon fleet, String method, String path, String body) {
        AgentClient.Reply r = management(fleet, method, path, body);
        assertThat(r.status()).as(method + " " + path + ": " + r.body()).isEqualTo(200);
        return r.json();
    }

    // --- store ---

    static Optional<JsonNode> doc(FleetDaemon fleet, String index, String id) {
        try {
            return fleet.store().get(index, id).get(5, TimeUnit.SECONDS).map(d -> d.source());
        } catch (Exception e) {
            throw new AssertionError("reading " + index + "/" + id, e);
        }
    }

    static JsonNode agentDoc(FleetDaemon fleet, String id) {
        return doc(fleet, FleetIndex.AGENTS, id).orElseThrow(() -> new AssertionError("no agent document " + id));
    }

    static void updateAgent(FleetDaemon fleet, String id, ObjectNode partial) {
        try {
            fleet.store().update(FleetIndex.AGENTS, id, partial).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("updating agent " + id, e);
        }
    }

    /** Indexes an action document directly, as Kibana does. */
    /** Writes an action document as Kibana does; returns its sequence number. */
    static long indexAction(FleetDaemon fleet, String docId, ObjectNode source) {
        try {
            return fleet.store().create(FleetIndex.ACTIONS, docId, source).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("indexing action " + docId, e);
        }
    }

    /** An action document as Kibana writes it; no {@code expiration} key when {@code expiration} is null. */
    static ObjectNode action(String actionId, String type, String agentId, Instant expiration, JsonNode data) {
        ObjectNode a = Json.object();
        a.put("action_id", actionId);
        a.put("type", type);
        a.putArray("agents").add(agentId);
        a.put("@timestamp", Instant.now().toString());
        if (expiration != null) {
            a.put("expiration", expiration.toString());
        }
        if (data != null) {
            a.set("data", data);
        }
        return a;
    }

    static ObjectNode settingsAction(String actionId, String agentId) {
        return action(actionId, "SETTINGS", agentId, Instant.now().plus(Duration.ofHours(1)),
                Json.object().put("log_level", "debug"));
    }

    // --- agents ---

    /** An enrolled agent's id and access key. */
    record Enrolled(String id, String key) {
    }

    static Enrolled enroll(FleetDaemon fleet, AgentClient agent) {
        JsonNode item = agent.enroll(fleet.enrollmentToken());
        return new Enrolled(item.get("id").asText(), item.get("access_api_key").asText());
    }

    /** Enrolls, takes the first POLICY_CHANGE ({@code policy:default:1}) and acks it. */
    static Enrolled enrollUpToDate(FleetDaemon fleet, AgentClient agent) {
        Enrolled a = enroll(fleet, agent);
        AgentClient.Reply first = agent.checkin(a.id(), a.key(), AgentClient.checkinBody("starting"));
        assertThat(first.json().at("/actions/0/id").asText()).isEqualTo("policy:default:1");
        assertThat(agent.acks(a.id(), a.key(), AgentClient.ackEvents(a.id(), "policy:default:1")).status()).isEqualTo(200);
        return a;
    }

    /** A checkin body of an agent running {@code policyId} at {@code revision}. */
    static ObjectNode runningPolicy(String policyId, long revision) {
        ObjectNode body = AgentClient.checkinBody("online");
        body.put("agent_policy_id", policyId);
        body.put("policy_revision_idx", revision);
        return body;
    }

    static String apiKeyHeader(String id, String secret) {
        return "ApiKey " + Base64.getEncoder().encodeToString((id + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    // --- raw HTTP ---

    /** One response read off a raw connection; header names lower-cased. */
    record RawResponse(int status, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + text(), e);
            }
        }
    }

    /** A plain TCP connection speaking HTTP/1.1 by hand. */
    static final class RawConnection implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        RawConnection(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout((int) Duration.ofSeconds(20).toMillis());
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        /** Writes a request head (request line and headers, plus Host) followed by {@code body}. */
        RawConnection send(String method, String target, Map<String, String> headers, byte[] body) throws IOException {
            out.write(request(method, target, headers, body));
            out.flush();
            return this;
        }

        RawConnection sendBytes(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
            return this;
        }

        static byte[] request(String method, String target, Map<String, String> headers, byte[] body) {
            StringBuilder head = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
            head.append("\r\n");
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            if (body != null) {
                all.writeBytes(body);
            }
            return all.toByteArray();
        }

        /** Reads one response (Content-Length or chunked body). */
        RawResponse read() throws IOException {
            String statusLine = line();
            if (statusLine == null) {
                throw new IOException("connection closed before a response");
            }
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (String l = line(); l != null && !l.isEmpty(); l = line()) {
                int colon = l.indexOf(':');
                headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
            }
            byte[] body;
            if (headers.containsKey("content-length")) {
                body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
            } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                for (int size = Integer.parseInt(line().trim(), 16); size > 0; size = Integer.parseInt(line().trim(), 16)) {
                    b.writeBytes(in.readNBytes(size));
                    line();
                }
                line();
                body = b.toByteArray();
            } else {
                body = in.readAllBytes();
            }
            return new RawResponse(status, headers, body);
        }

        /** True once the server has closed its side (read returns end of stream). */
        boolean closedByServer() throws IOException {
            return in.read() < 0;
        }

        /**
         * Reads until the server closes the connection, allowing at most {@code within}; returns whatever it sent
         * meanwhile (possibly an error answer). Fails when the connection is still open after {@code within}.
         */
        String awaitServerClose(Duration within) throws IOException {
            socket.setSoTimeout((int) within.toMillis());
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            try {
                for (int c = in.read(); c >= 0; c = in.read()) {
                    got.write(c);
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("connection still open after " + within.toMillis() + " ms; received: "
                        + got.toString(StandardCharsets.ISO_8859_1));
            } catch (java.net.SocketException e) {
                // reset by the server: closed too
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    String s = b.toString(StandardCharsets.ISO_8859_1);
                    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                }
                b.write(c);
            }
            return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** The agent's headers for raw requests (no gzip either way). */
    static Map<String, String> agentHeaders(String authorization) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "application/json");
        h.put("User-Agent", AgentClient.USER_AGENT);
        h.put("Elastic-Api-Version", "2023-06-01");
        if (authorization != null) {
            h.put("Authorization", authorization);
        }
        return h;
    }
}
