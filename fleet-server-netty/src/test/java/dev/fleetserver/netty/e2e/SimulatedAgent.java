package dev.fleetserver.netty.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * An enrolled agent that behaves as Elastic Agent does, on a thread of its own, until closed: it long-polls checkin
 * reporting the policy revision it runs and its components, acks every action it receives, takes each policy change,
 * and answers a diagnostics request by uploading a bundle (a real zip) and acking with its upload id.
 */
final class SimulatedAgent implements AutoCloseable {
    private final AgentClient client;
    private final E2eSupport.Enrolled enrolled;
    private final String hostname;
    private final String status;
    private final byte[] bundle;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private volatile String policyId;
    private volatile long revision;
    private String ackToken;

    private SimulatedAgent(AgentClient client, E2eSupport.Enrolled enrolled, String hostname, String status) {
        this.client = client;
        this.enrolled = enrolled;
        this.hostname = hostname;
        this.status = status;
        this.bundle = zip(hostname);
        this.thread = new Thread(this::run, "simulated-agent-" + hostname);
        thread.setDaemon(true);
    }

    /** A healthy agent of version 9.6.0: enrolls with {@code enrollmentToken} and starts checking in. */
    static SimulatedAgent start(AgentClient client, String enrollmentToken, String hostname) {
        return start(client, enrollmentToken, hostname, "9.6.0", "online");
    }

    /** An agent of {@code version} that reports {@code status} ({@code online}, {@code degraded}, {@code error}). */
    static SimulatedAgent start(AgentClient server, String enrollmentToken, String hostname, String version, String status) {
        AgentClient client = server.asVersion(version);
        ObjectNode body = AgentClient.enrollBody();
        ((ObjectNode) body.at("/metadata/local/host")).put("hostname", hostname);
        ((ObjectNode) body.at("/metadata/local/elastic/agent")).put("version", version);
        AgentClient.Reply enrolled = client.enroll(enrollmentToken, body);
        if (enrolled.status() != 200) {
            throw new AssertionError("enroll failed: " + enrolled.status() + " " + enrolled.body());
        }
        JsonNode item = enrolled.json().get("item");
        SimulatedAgent agent = new SimulatedAgent(client, new E2eSupport.Enrolled(item.get("id").asText(),
                item.get("access_api_key").asText()), hostname, status);
        agent.thread.start();
        return agent;
    }

    String id() {
        return enrolled.id();
    }

    /** The diagnostics bundle it uploads when asked. */
    byte[] bundle() {
        return bundle.clone();
    }

    long revision() {
        return revision;
    }

    private void run() {
        while (running.get()) {
            try {
                checkinOnce();
            } catch (RuntimeException e) {
                pause();
            }
        }
    }

    private void checkinOnce() {
        ObjectNode body = AgentClient.checkinBody(status);
        ((ObjectNode) body.get("local_metadata")).putObject("host").put("hostname", hostname);
        if (policyId != null) {
            body.put("agent_policy_id", policyId);
            body.put("policy_revision_idx", revision);
        }
        if (ackToken != null) {
            body.put("ack_token", ackToken);
        }
        body.set("components", components());
        AgentClient.Reply reply = client.checkin(enrolled.id(), enrolled.key(), body);
        if (reply.status() != 200) {
            pause();
            return;
        }
        JsonNode answer = reply.json();
        if (answer.hasNonNull("ack_token")) {
            ackToken = answer.get("ack_token").asText();
        }
        for (JsonNode action : answer.path("actions")) {
            handle(action);
        }
    }

    private void handle(JsonNode action) {
        String id = action.get("id").asText();
        ObjectNode ack = AgentClient.ackEvents(enrolled.id(), id);
        switch (action.path("type").asText()) {
            case "POLICY_CHANGE" -> {
                policyId = action.at("/data/policy/id").asText();
                revision = action.at("/data/policy/revision").asLong();
            }
            case "REQUEST_DIAGNOSTICS" -> ((ObjectNode) ack.get("events").get(0)).putObject("data")
                    .put("upload_id", upload(id));
            default -> { }
        }
        client.acks(enrolled.id(), enrolled.key(), ack);
    }

    /** Uploads the bundle for a diagnostics action as the agent does: begin, one chunk, finish. */
    private String upload(String actionId) {
        UploadClient uploads = new UploadClient(client);
        ObjectNode begin = UploadClient.beginBody(actionId, enrolled.id(), bundle.length);
        String uploadId = uploads.beginOk(enrolled.key(), begin);
        uploads.chunk(enrolled.key(), uploadId, 0, bundle);
        uploads.complete(enrolled.key(), uploadId, UploadClient.transitHash(bundle));
        return uploadId;
    }

    private static ArrayNode components() {
        ArrayNode components = Json.array();
        ObjectNode c = components.addObject();
        c.put("id", "system/metrics-default");
        c.put("type", "system/metrics");
        c.put("status", "HEALTHY");
        c.put("message", "Healthy: communicating with pid '4242'");
        ObjectNode unit = c.putArray("units").addObject();
        unit.put("id", "system/metrics-default-system/metrics-system-1");
        unit.put("type", "input");
        unit.put("status", "HEALTHY");
        unit.put("message", "Healthy");
        return components;
    }

    private static byte[] zip(String hostname) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("diagnostics/host.txt"));
            zip.write(("diagnostics of " + hostname + "\n").getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void pause() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running.set(false);
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
