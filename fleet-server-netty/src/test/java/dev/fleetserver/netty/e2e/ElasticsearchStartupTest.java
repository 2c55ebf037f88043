package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.datadir.DataDirLock;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Elasticsearch unreachable when the server starts: it waits (listeners up, 503 with Retry-After, never 401), says
 * why on every attempt, and serves as soon as the cluster answers, without a restart. Also on Elasticsearch: the data
 * directory holds no store (and needs none), and the {@code enrollment-token} command reads the cluster.
 */
class ElasticsearchStartupTest {
    @TempDir
    Path tmp;
    private final List<FleetDaemon> daemons = new ArrayList<>();
    private ElasticsearchTestCluster ownCluster;
    private LogCapture log;

    @BeforeEach
    void captureLog() {
        log = LogCapture.of(FleetDaemon.class);
    }

    @AfterEach
    void stop() {
        log.close();
        daemons.forEach(FleetDaemon::stop);
        if (ownCluster != null) {
            ownCluster.stop();
        }
    }

    private static Consumer<ObjectNode> elasticsearch(String host, String serviceToken) {
        return root -> {
            ObjectNode es = root.putObject("output").putObject("elasticsearch");
            es.putArray("hosts").add(host);
            es.put("service_token", serviceToken);
        };
    }

    private FleetDaemon launch(FleetServerConfig config) throws Exception {
        FleetDaemon daemon = FleetDaemon.launch(config);
        daemons.add(daemon);
        return daemon;
    }

    @Test
    void aServerStartedWhileElasticsearchIsDownAnswers503UntilItIsBackThenServesWithoutARestart() throws Exception {
        ownCluster = ElasticsearchTestCluster.startNew();
        ownCluster.stopNode();
        FleetDaemon fleet = launch(TestFleet.config(tmp.resolve("data"), server -> { },
                elasticsearch(ownCluster.httpUri(), ownCluster.serviceToken())));
        AgentClient agent = new AgentClient(fleet.port());

        AgentClient.Reply status = agent.status(null);
        assertThat(status.status()).isEqualTo(503);
        assertThat(status.json().get("status").asText()).isEqualTo("STARTING");
        assertUnavailable(agent.enroll("bm90OmEta2V5", AgentClient.enrollBody()));
        assertUnavailable(E2eSupport.managementAs(fleet, "Bearer " + fleet.managementToken(), "GET", "/api/fleet/agents", null));
        E2eSupport.await(Duration.ofSeconds(30), "two attempts logged", () -> warnings().size() >= 2);

        // While it waits, nothing with a made-up key or token is ever answered 401 (agents would give up).
        List<Integer> whileStarting = new CopyOnWriteArrayList<>();
        AtomicBoolean serving = new AtomicBoolean();
        CompletableFuture<Void> prober = CompletableFuture.runAsync(() -> {
            while (!serving.get()) {
                int enroll = agent.enroll("bm90OmEta2V5", AgentClient.enrollBody()).status();
                int checkin = agent.checkin("agent-x", "bm90OmEta2V5", AgentClient.checkinBody("online")).status();
                int management = E2eSupport.managementAs(fleet, "Bearer wrong", "GET", "/api/fleet/agents", null).status();
                if (agent.status(null).status() == 200) {
                    serving.set(true);
                } else {
                    whileStarting.addAll(List.of(enroll, checkin, management));
                }
            }
        });
        ownCluster.startNode();
        E2eSupport.await(Duration.ofSeconds(90), "serving after the cluster came back", serving::get);
        prober.get(30, TimeUnit.SECONDS);

        // 503 from the gate; 429 when the prober outruns the enroll route's own rate limit, also "come back later"
        // (whether it does depends on how fast this machine runs the prober, so a 429 may or may not be among them).
        assertThat(whileStarting).contains(503).doesNotContain(401).isSubsetOf(503, 429);
        assertThat(fleet.ready()).isCompleted();
        assertThat(fleet.enrollmentTokenCreated()).isTrue();
        assertThat(agent.enroll(fleet.enrollmentToken()).get("id").asText()).isNotBlank();
        List<String> attempts = warnings();
        assertThat(attempts).allSatisfy(line -> assertThat(line).matches(
                "Elasticsearch is not ready \\(attempt \\d+\\): .+; next attempt in \\d+ s"));
        assertThat(attempts.get(0)).contains("attempt 1)").contains("next attempt in 1 s");
        assertThat(attempts.get(1)).contains("attempt 2)").contains("next attempt in 2 s");
        assertThat(log.events.stream().map(ILoggingEvent::getFormattedMessage))
                .contains("Elasticsearch is ready after " + (attempts.size() + 1) + " attempts; serving");
    }

    @Test
    void aServerWaitingForAnUnreachableClusterSaysWhyAnswers503WithRetryAfterAndStopsPromptly() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        FleetDaemon fleet = launch(TestFleet.config(tmp.resolve("data"), server -> { },
                elasticsearch("127.0.0.1:" + closedPort, "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rlc3Q6c2VjcmV0")));
        AgentClient agent = new AgentClient(fleet.port());

        AgentClient.Reply enroll = agent.enroll("bm90OmEta2V5", AgentClient.enrollBody());
        assertUnavailable(enroll);
        assertThat(enroll.json().get("message").asText()).isEqualTo("Fleet Server is starting: waiting for Elasticsearch");
        assertUnavailable(agent.acks("agent-x", "bm90OmEta2V5", AgentClient.ackEvents("agent-x", "a")));
        assertUnavailable(E2eSupport.managementAs(fleet, null, "GET", "/api/fleet/agent_policies", null));
        E2eSupport.await(Duration.ofSeconds(30), "an attempt logged with its cause", () -> !warnings().isEmpty());
        assertThat(warnings().get(0)).startsWith("Elasticsearch is not ready (attempt 1): ").contains(Integer.toString(closedPort));

        long start = System.nanoTime();
        fleet.stop();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(fleet.ready()).isCompletedExceptionally();
        assertThat(fleet.ready().handle((v, t) -> t)).succeedsWithin(Duration.ofSeconds(1))
                .isInstanceOf(CancellationException.class);
        // The directory is free again.
        DataDirLock.acquire(tmp.resolve("data")).close();
    }

    @Test
    void theDataDirectoryNeedsNoStoreAndTheEnrollmentTokenCommandReadsTheCluster() throws Exception {
        ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
        Path dataDir = Files.createDirectories(tmp.resolve("data"));
        // State the server keeps there on any back end, and no fleet.db: fine on Elasticsearch.
        Files.writeString(dataDir.resolve("management-token"), "a-management-token\n");
        FleetDaemon fleet = TestFleet.startOnElasticsearch(dataDir, cluster, server -> { });
        daemons.add(fleet);
        assertThat(dataDir.resolve("fleet.db")).doesNotExist();
        Path yml = Files.writeString(tmp.resolve("fleet-server.yml"), """
                output:
                  elasticsearch:
                    hosts: ["%s"]
                    service_token: %s
                """.formatted(cluster.httpUri(), cluster.serviceToken()));

        DaemonProcess.Result r = DaemonProcess.run("enrollment-token", "--config", yml.toString());

        assertThat(r.status()).as(r.toString()).isZero();
        assertThat(r.stdout()).hasSize(1);
        AgentClient.Reply enrolled = new AgentClient(fleet.port()).enroll(r.stdout().get(0), AgentClient.enrollBody());
        assertThat(enrolled.status()).as(enrolled.body()).isEqualTo(200);
    }

    private List<String> warnings() {
        return log.events.stream().filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage).filter(m -> m.startsWith("Elasticsearch is not ready")).toList();
    }

    private static void assertUnavailable(AgentClient.Reply r) {
        assertThat(r.status()).as(r.body()).isEqualTo(503);
        assertThat(r.json().get("error").asText()).isEqualTo("ServiceUnavailable");
        assertThat(Integer.parseInt(r.header("Retry-After"))).isPositive();
    }
}
