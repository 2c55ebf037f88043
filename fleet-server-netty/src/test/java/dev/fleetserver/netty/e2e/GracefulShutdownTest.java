package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.e2e.E2eSupport.RawConnection;
import dev.fleetserver.netty.e2e.E2eSupport.RawResponse;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Graceful shutdown: the listener stops accepting, requests in flight are still answered within the drain time,
 * and SIGTERM ends the process with status 0. (Parked checkins answered on stop: {@code AgentLifecycleTest}.)
 */
class GracefulShutdownTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();
    Process process;

    @AfterEach
    void cleanUp() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aRequestInFlightWhenTheServerStopsIsStillAnswered() throws Exception {
        fleet.start();
        int port = fleet.port();
        byte[] body = Json.bytes(AgentClient.enrollBody());
        Map<String, String> headers = E2eSupport.agentHeaders("ApiKey " + fleet.daemon().enrollmentToken());
        headers.put("Content-Length", String.valueOf(body.length));
        try (RawConnection c = new RawConnection(port)) {
            c.send("POST", "/api/fleet/agents/enroll?", headers, Arrays.copyOf(body, 10));
            E2eSupport.await("the enroll admitted", () -> fleet.daemon().server().admission().inFlight() == 1);

            FleetDaemon stopping = fleet.daemon();
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(stopping::stop);
            E2eSupport.await("the listener closed", () -> !accepts(port));
            assertThat(stopped).isNotDone();

            c.sendBytes(Arrays.copyOfRange(body, 10, body.length));
            RawResponse r = c.read();
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            assertThat(r.json().get("action").asText()).isEqualTo("created");
            stopped.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aParkedCheckinIsAnsweredOnStopAndItsConnectionClosedSoTheAgentCannotCheckInAgainOnIt() throws Exception {
        fleet.start(server -> server.with("timeouts").put("checkin_long_poll", "60s"));
        E2eSupport.Enrolled a = fleet.enrollUpToDate();
        String id = a.id();
        byte[] body = Json.bytes(E2eSupport.runningPolicy("default", 1));
        Map<String, String> headers = E2eSupport.agentHeaders("ApiKey " + a.key());
        headers.put("Content-Length", String.valueOf(body.length));
        try (RawConnection c = new RawConnection(fleet.port())) {
            c.send("POST", "/api/fleet/agents/" + id + "/checkin", headers, body);
            E2eSupport.await("the checkin parked", () -> fleet.daemon().core().checkin().registry().forAgent(id) != null);

            FleetDaemon stopping = fleet.daemon();
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(stopping::stop);
            RawResponse r = c.read();

            assertThat(r.status()).as(r.text()).isEqualTo(200);
            assertThat(r.headers().get("connection")).isEqualToIgnoringCase("close");
            assertThat(c.closedByServer()).isTrue();
            stopped.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRequestSentOnAnIdleKeptAliveConnectionAsTheServerStopsIsAnsweredNotReset() throws Exception {
        fleet.start();
        int port = fleet.port();
        try (RawConnection c = new RawConnection(port)) {
            c.send("GET", "/api/status", Map.of(), null);
            assertThat(c.read().status()).isEqualTo(200);

            FleetDaemon stopping = fleet.daemon();
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(stopping::stop);
            E2eSupport.await("the listener closed", () -> !accepts(port));
            // The client's next request, on the connection it was answered on a moment ago.
            c.send("GET", "/api/status", Map.of(), null);
            RawResponse r = c.read();

            assertThat(r.status()).as(r.text()).isIn(200, 503);
            assertThat(r.headers().get("connection")).isEqualToIgnoringCase("close");
            assertThat(c.closedByServer()).isTrue();
            stopped.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void sigtermStopsTheDaemonWithExitStatusZero() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                "dev.fleetserver.netty.FleetServerMain", "--data-dir", fleet.dataDir().toString(), "--host", "127.0.0.1",
                "--port", "0", "--management-port", "0"))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Boolean> ready = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.startsWith("Enrollment token: ")) {
                        return true;
                    }
                }
                return false;
            } catch (IOException e) {
                return false;
            }
        });
        assertThat(ready.get(60, TimeUnit.SECONDS)).isTrue();

        process.destroy();  // SIGTERM
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isZero();
    }
}
