package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.util.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real daemon in its own JVM, started as {@code main} is, killed with SIGKILL: whatever got its 200 (an enroll, an
 * ack) must still be there when it comes back on the same data directory.
 */
class KillNineDurabilityTest {
    private static final Pattern LISTENING = Pattern.compile("listening on [^:]+:(\\d+), management API on [^:]+:(\\d+)");

    @TempDir
    Path dataDir;
    Process process;

    @AfterEach
    void kill() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    @Test
    void anEnrollAndAnAckThatGotTheir200SurviveKillMinusNine() throws Exception {
        Started first = startDaemon();
        AgentClient agent = new AgentClient(first.port);
        JsonNode item = agent.enroll(first.enrollmentToken);
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        assertThat(agent.checkin(id, key, AgentClient.checkinBody("starting")).status()).isEqualTo(200);
        assertThat(agent.acks(id, key, AgentClient.ackEvents(id, "policy:default:1")).status()).isEqualTo(200);

        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

        Started second = startDaemon();
        // Not printed again (the key was not made by this start): the command prints it, beside the running server.
        assertThat(second.enrollmentToken).isNull();
        assertThat(second.tokenHint).endsWith("enrollment-token --data-dir " + dataDir);
        assertThat(DaemonProcess.enrollmentToken(dataDir)).isEqualTo(first.enrollmentToken);
        JsonNode doc = management(second, "/api/fleet/agents/" + id).get("item");
        assertThat(doc.get("active").asBoolean()).isTrue();
        assertThat(doc.get("policy_revision_idx").asLong()).isEqualTo(1);
        // The agent's key survived too: a checkin claiming revision 0 is answered at once with revision 1.
        var body = AgentClient.checkinBody("online");
        body.put("agent_policy_id", "default");
        body.put("policy_revision_idx", 0);
        AgentClient.Reply reply = new AgentClient(second.port).checkin(id, key, body);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().at("/actions/0/id").asText()).isEqualTo("policy:default:1");
        JsonNode status = Json.MAPPER.readTree(new AgentClient(second.port).status("ApiKey " + key).body());
        assertThat(status.at("/version/number").asText()).isEqualTo("9.6.0");
    }

    @Test
    void anUploadChunkThatGotIts200SurvivesKillMinusNine() throws Exception {
        Started first = startDaemon();
        AgentClient agent = new AgentClient(first.port);
        JsonNode item = agent.enroll(first.enrollmentToken);
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        byte[] file = new byte[UploadClient.CHUNK + 1000];
        new java.util.Random(9).nextBytes(file);
        String uploadId = new UploadClient(agent).beginOk(key, UploadClient.beginBody("act-kill", id, file.length));
        assertThat(new UploadClient(agent).chunk(key, uploadId, 0, file).status()).isEqualTo(200);

        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

        // Kept like the rest of the data directory: readable by the server's user only.
        Path dir = dataDir.resolve("uploads").resolve(uploadId);
        assertThat(java.nio.file.Files.getPosixFilePermissions(dir))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        try (var chunks = java.nio.file.Files.list(dir)) {
            List<Path> stored = chunks.toList();
            assertThat(stored).hasSize(1);
            assertThat(java.nio.file.Files.getPosixFilePermissions(stored.get(0)))
                    .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        Started second = startDaemon();
        UploadClient again = new UploadClient(new AgentClient(second.port));
        assertThat(again.chunk(key, uploadId, 1, file).status()).isEqualTo(200);
        // Completing checks every chunk's size and the hash over all of them: chunk 0 came through the kill intact.
        AgentClient.Reply done = again.complete(key, uploadId, UploadClient.transitHash(file));
        assertThat(done.status()).as(done.body()).isEqualTo(200);
        String token = Files.readString(dataDir.resolve("management-token")).trim();
        HttpResponse<byte[]> download = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + second.managementPort + "/api/fleet/agents/files/act-kill." + id + "/d.zip"))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(download.statusCode()).isEqualTo(200);
        assertThat(download.body()).isEqualTo(file);
    }

    private record Started(int port, int managementPort, String enrollmentToken, String tokenHint) {
    }

    private Started startDaemon() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                "dev.fleetserver.netty.FleetServerMain", "--data-dir", dataDir.toString(), "--host", "127.0.0.1",
                "--port", "0", "--management-port", "0"))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Started> started = CompletableFuture.supplyAsync(() -> {
            int port = -1;
            int mgmt = -1;
            try {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        port = Integer.parseInt(m.group(1));
                        mgmt = Integer.parseInt(m.group(2));
                    }
                    if (line.startsWith("Enrollment token: ")) {
                        return new Started(port, mgmt, line.substring("Enrollment token: ".length()).trim(), null);
                    }
                    if (line.startsWith("To print the enrollment token: ")) {
                        return new Started(port, mgmt, null, line.substring("To print the enrollment token: ".length()));
                    }
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            throw new IllegalStateException("daemon exited before printing its enrollment token");
        });
        return started.get(60, TimeUnit.SECONDS);
    }

    private JsonNode management(Started s, String path) throws Exception {
        String token = Files.readString(dataDir.resolve("management-token")).trim();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + s.managementPort + path))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.MAPPER.readTree(r.body());
    }
}
