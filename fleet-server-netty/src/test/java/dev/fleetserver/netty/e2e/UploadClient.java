package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.net.http.HttpRequest;
import java.security.MessageDigest;
import java.util.HexFormat;

/** Diagnostics uploads as Elastic Agent sends them: begin, chunks with {@code X-Chunk-Sha2}, finish. */
final class UploadClient {
    static final int CHUNK = 4 * 1024 * 1024;
    private final AgentClient agent;

    UploadClient(AgentClient agent) {
        this.agent = agent;
    }

    /** The begin body the agent sends for a diagnostics bundle. */
    static ObjectNode beginBody(String actionId, String agentId, long size) {
        ObjectNode b = Json.object();
        b.put("action_id", actionId);
        b.put("agent_id", agentId);
        b.put("src", "agent");
        ObjectNode file = b.putObject("file");
        file.put("size", size);
        file.put("name", "elastic-agent-diagnostics-2026-12-02T00-00-00Z-00.zip");
        file.put("ext", "zip");
        file.put("mime_type", "application/zip");
        file.putObject("hash").put("sha256", "").put("md5", "");
        b.putNull("contents");
        return b;
    }

    AgentClient.Reply begin(String key, ObjectNode body) {
        return begin(key, Json.bytes(body));
    }

    AgentClient.Reply begin(String key, byte[] body) {
        HttpRequest.Builder b = agent.request("/api/fleet/uploads").POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (key != null) {
            b.header("Authorization", "ApiKey " + key);
        }
        return agent.send(b.build());
    }

    /** Begins an upload that must succeed; its upload id. */
    String beginOk(String key, ObjectNode body) {
        AgentClient.Reply r = begin(key, body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("chunk_size").asInt()).isEqualTo(CHUNK);
        return r.json().get("upload_id").asText();
    }

    AgentClient.Reply chunk(String key, String uploadId, String chunkNum, byte[] data, int offset, int length, String sha2) {
        HttpRequest.Builder b = agent.request("/api/fleet/uploads/" + uploadId + "/" + chunkNum)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data, offset, length));
        if (key != null) {
            b.header("Authorization", "ApiKey " + key);
        }
        if (sha2 != null) {
            b.header("X-Chunk-Sha2", sha2);
        }
        return agent.send(b.build());
    }

    /** Sends chunk {@code n} of {@code file} with its right hash. */
    AgentClient.Reply chunk(String key, String uploadId, int n, byte[] file) {
        int offset = n * CHUNK;
        int length = Math.min(CHUNK, file.length - offset);
        return chunk(key, uploadId, String.valueOf(n), file, offset, length, sha256(file, offset, length));
    }

    AgentClient.Reply complete(String key, String uploadId, String transitHash) {
        return complete(key, uploadId, Json.bytes(completeBody(transitHash)));
    }

    AgentClient.Reply complete(String key, String uploadId, byte[] body) {
        HttpRequest.Builder b = agent.request("/api/fleet/uploads/" + uploadId).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (key != null) {
            b.header("Authorization", "ApiKey " + key);
        }
        return agent.send(b.build());
    }

    static ObjectNode completeBody(String transitHash) {
        ObjectNode body = Json.object();
        body.putObject("transithash").put("sha256", transitHash);
        return body;
    }

    /** Begins, sends every chunk and completes; the upload id. */
    String uploadAll(String key, String actionId, String agentId, byte[] file) {
        String uploadId = beginOk(key, beginBody(actionId, agentId, file.length));
        for (int n = 0; n * CHUNK < file.length; n++) {
            AgentClient.Reply r = chunk(key, uploadId, n, file);
            assertThat(r.status()).as("chunk " + n + ": " + r.body()).isEqualTo(200);
        }
        AgentClient.Reply done = complete(key, uploadId, transitHash(file));
        assertThat(done.status()).as(done.body()).isEqualTo(200);
        assertThat(done.json().get("status").asText()).isEqualTo("ok");
        return uploadId;
    }

    static String sha256(byte[] data, int offset, int length) {
        MessageDigest d = digest();
        d.update(data, offset, length);
        return HexFormat.of().formatHex(d.digest());
    }

    /** SHA-256 over the raw SHA-256 of each chunk, in order. */
    static String transitHash(byte[] file) {
        MessageDigest transit = digest();
        for (int offset = 0; offset < file.length; offset += CHUNK) {
            MessageDigest d = digest();
            d.update(file, offset, Math.min(CHUNK, file.length - offset));
            transit.update(d.digest());
        }
        return HexFormat.of().formatHex(transit.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
