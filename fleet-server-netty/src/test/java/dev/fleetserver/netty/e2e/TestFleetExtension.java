package dev.fleetserver.netty.e2e;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.es.testing.TestFiles;
import dev.fleetserver.netty.FleetDaemon;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A {@link TestFleet} per test method: the daemon in a fresh data directory, on the embedded store or on Elasticsearch,
 * with an {@link AgentClient} for its agent listener. Registered on an instance field with
 * {@code @RegisterExtension}.
 *
 * <p>Before each test, and before the class's {@code @BeforeEach} methods, it creates the data directory and starts
 * the daemon with the settings given at registration, unless {@link #startedByTest()} leaves the start to the test.
 * After each test, and after the class's {@code @AfterEach} methods, it stops the daemon last started (whether or not
 * the test stopped it already), runs the {@linkplain #cleanUp clean-up} and deletes the data directory. Nothing
 * carries over from one test to the next.
 *
 * <p>Within a test, {@link #restart} and {@link #stop()} followed by a {@code start} method run a new daemon on the same
 * data directory; {@link #daemon()} and {@link #agent()} then answer for the new one.
 */
final class TestFleetExtension implements BeforeEachCallback, AfterEachCallback {
    /** Work that may throw, run at the end of each test. */
    @FunctionalInterface
    interface CleanUp {
        void run() throws Exception;
    }

    /** What one start is given; {@code cluster} null for the embedded store. */
    private record Settings(ElasticsearchTestCluster cluster, Consumer<ObjectNode> server, Consumer<ObjectNode> root,
                            Consumer<ObjectNode> input) {
        Settings withServer(Consumer<ObjectNode> tweak) {
            return new Settings(cluster, tweak, root, input);
        }

        Settings withRoot(Consumer<ObjectNode> tweak) {
            return new Settings(cluster, server, tweak, input);
        }

        Settings on(ElasticsearchTestCluster es) {
            return new Settings(es, server, root, input);
        }
    }

    private static final Consumer<ObjectNode> UNCHANGED = node -> { };

    private final Supplier<ElasticsearchTestCluster> cluster;
    private Consumer<ObjectNode> server = UNCHANGED;
    private Consumer<ObjectNode> root = UNCHANGED;
    private Consumer<ObjectNode> input = UNCHANGED;
    private boolean startedByTest;
    private CleanUp cleanUp = () -> { };

    private Path dataDir;
    private Settings last;
    private FleetDaemon daemon;
    private boolean running;
    private AgentClient agent;

    private TestFleetExtension(Supplier<ElasticsearchTestCluster> cluster) {
        this.cluster = cluster;
    }

    /** The daemon on its embedded store, in the data directory. */
    static TestFleetExtension embedded() {
        return new TestFleetExtension(null);
    }

    /** The daemon on {@code cluster}, as {@link TestFleet#startOnElasticsearch} starts it. */
    static TestFleetExtension onElasticsearch(ElasticsearchTestCluster cluster) {
        Objects.requireNonNull(cluster, "cluster");
        return onElasticsearch(() -> cluster);
    }

    /**
     * The daemon on the cluster {@code cluster} supplies when a daemon starts, for a cluster that does not exist yet
     * when the extension is made (one started in {@code @BeforeAll}, or a field of a subclass).
     */
    static TestFleetExtension onElasticsearch(Supplier<ElasticsearchTestCluster> cluster) {
        return new TestFleetExtension(Objects.requireNonNull(cluster, "cluster"));
    }

    // --- settings, given at registration ---

    /** {@code tweak} may change {@code inputs[0].server} (e.g. timeouts, limits) before each start. */
    TestFleetExtension server(Consumer<ObjectNode> tweak) {
        this.server = Objects.requireNonNull(tweak, "tweak");
        return this;
    }

    /** {@code tweak} may add top-level sections (e.g. {@code http}, {@code logging}) before each start. */
    TestFleetExtension root(Consumer<ObjectNode> tweak) {
        this.root = Objects.requireNonNull(tweak, "tweak");
        return this;
    }

    /** {@code tweak} is given {@code inputs[0]} (e.g. for {@code policy.id}) before each start. */
    TestFleetExtension input(Consumer<ObjectNode> tweak) {
        this.input = Objects.requireNonNull(tweak, "tweak");
        return this;
    }

    /** No daemon before the test: the test starts it with a {@code start} method, the extension still stops it. */
    TestFleetExtension startedByTest() {
        this.startedByTest = true;
        return this;
    }

    /**
     * Runs {@code cleanUp} at the end of each test once the daemon has stopped, even when stopping failed: for what a
     * test leaves in a back end that outlives it. Stops and restarts within a test do not run it.
     */
    TestFleetExtension cleanUp(CleanUp cleanUp) {
        this.cleanUp = Objects.requireNonNull(cleanUp, "cleanUp");
        return this;
    }

    // --- lifecycle ---

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        last = null;
        daemon = null;
        running = false;
        agent = null;
        dataDir = Files.createTempDirectory("fleet-e2e-");
        if (!startedByTest) {
            start();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        try {
            try {
                stop();
            } finally {
                cleanUp.run();
            }
        } finally {
            TestFiles.deleteRecursively(dataDir);
        }
    }

    /** Starts the daemon with the settings given at registration; fails while the one started before still runs. */
    FleetDaemon start() throws Exception {
        return start(registered());
    }

    /** As {@link #start()}, with {@code server} in place of the {@code inputs[0].server} tweak given at registration. */
    FleetDaemon start(Consumer<ObjectNode> server) throws Exception {
        return start(registered().withServer(Objects.requireNonNull(server, "server")));
    }

    /** As {@link #start()}, with {@code root} in place of the top-level tweak given at registration. */
    FleetDaemon startWithRoot(Consumer<ObjectNode> root) throws Exception {
        return start(registered().withRoot(Objects.requireNonNull(root, "root")));
    }

    /** As {@link #start()}, on {@code cluster} whatever the back end given at registration. */
    FleetDaemon startOnElasticsearch(ElasticsearchTestCluster cluster) throws Exception {
        return start(registered().on(Objects.requireNonNull(cluster, "cluster")));
    }

    /** Stops the running daemon, if any, and starts a new one as the last was started. */
    FleetDaemon restart() throws Exception {
        stop();
        return start(started());
    }

    /** As {@link #restart()}, with {@code server} in place of the {@code inputs[0].server} tweak the last start had. */
    FleetDaemon restart(Consumer<ObjectNode> server) throws Exception {
        stop();
        return start(started().withServer(Objects.requireNonNull(server, "server")));
    }

    /** Stops the daemon last started; nothing when none was, or it is stopped already. */
    void stop() {
        if (daemon != null) {
            running = false;
            daemon.stop();
        }
    }

    // --- the fleet under test ---

    /** The daemon last started in this test; it may have been stopped since. */
    FleetDaemon daemon() {
        if (daemon == null) {
            throw new IllegalStateException("no fleet started in this test");
        }
        return daemon;
    }

    /** A client speaking to {@link #daemon()}'s agent listener as Elastic Agent does. */
    AgentClient agent() {
        daemon();
        return agent;
    }

    /** {@link #daemon()}'s agent listener port. */
    int port() {
        return daemon().port();
    }

    /** This test's data directory; it exists from before the test until after it. */
    Path dataDir() {
        if (dataDir == null) {
            throw new IllegalStateException("no test running");
        }
        return dataDir;
    }

    /** Enrolls an agent with {@link #daemon()}'s enrollment token through {@link #agent()}. */
    E2eSupport.Enrolled enroll() {
        return E2eSupport.enroll(daemon(), agent());
    }

    /** {@link E2eSupport#enrollUpToDate}: enrolled, its first policy received and acked. */
    E2eSupport.Enrolled enrollUpToDate() {
        return E2eSupport.enrollUpToDate(daemon(), agent());
    }

    // --- internals ---

    private Settings registered() {
        return new Settings(cluster == null ? null : Objects.requireNonNull(cluster.get(), "no cluster supplied"),
                server, root, input);
    }

    private Settings started() {
        if (last == null) {
            throw new IllegalStateException("no fleet started in this test");
        }
        return last;
    }

    private FleetDaemon start(Settings settings) throws Exception {
        if (running) {
            throw new IllegalStateException("a fleet is running: stop() or restart() it first");
        }
        Consumer<ObjectNode> rootTweak = settings.cluster() == null
                ? settings.root()
                : TestFleet.elasticsearchOutput(settings.cluster()).andThen(settings.root());
        last = settings;
        daemon = FleetDaemon.start(TestFleet.config(dataDir(), settings.server(), rootTweak, settings.input()));
        running = true;
        agent = new AgentClient(daemon.port());
        return daemon;
    }
}
