package dev.fleetserver.es.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * A real single-node Elasticsearch (the {@code integ-test-zip} distribution) for integration tests.
 *
 * <h2>Where the distribution comes from</h2>
 * The zip is taken from the system property {@value #ZIP_PROPERTY} (fleet-server-es's surefire configuration sets it
 * to {@code target/es-dist/elasticsearch-<version>.zip}, copied there by {@code maven-dependency-plugin}; other
 * modules should set the same property). Without the property the harness looks in the local Maven repository
 * ({@code maven.repo.local} or {@code ~/.m2/repository}) for
 * {@code org.elasticsearch.distribution.integ-test-zip:elasticsearch:}{@value #DEFAULT_VERSION}{@code :zip}
 * (version overridable with {@value #VERSION_PROPERTY}). The JVM that runs Elasticsearch is
 * {@value #JAVA_HOME_PROPERTY}, else {@code ES_JAVA_HOME}, else the test JVM's {@code java.home} (8.x needs 17+).
 * The heap is {@value #HEAP_PROPERTY} (default {@value #DEFAULT_HEAP}); {@value #JAVA_OPTS_PROPERTY} adds JVM options.
 *
 * <h2>Layout</h2>
 * The zip is unpacked once per version into {@code <java.io.tmpdir>/fleet-es-test/elasticsearch-<version>/}
 * ({@code fleet-es-test-<user>} when not running as root)
 * (reused while its marker file matches), together with a small analysis plugin compiled at run time from the
 * test resources under {@code es-analysis-plugin/} (the {@code .security} index needs {@code uax_url_email},
 * {@code pattern_capture} and {@code unique}, which the zip lacks) and file-realm credentials generated once with
 * the distribution's CLI tools. Each started cluster gets a fresh instance directory
 * {@code <java.io.tmpdir>/fleet-es-test/instances/<random>/} (config, data, logs, tmp; Elasticsearch's console
 * output goes to {@code logs/console.log}), deleted by {@link #stop()}.
 *
 * <h2>Process</h2>
 * As root, Elasticsearch runs as the system user {@value #ES_USER} (created when missing) through
 * {@code setpriv --reuid ... --pdeathsig KILL}; otherwise as the current user. It is forked from a dedicated thread
 * that stays in {@code waitFor()}, so a killed test JVM takes the node down with it.
 *
 * <h2>Credentials</h2>
 * A {@code superuser} file-realm user ({@link #adminUser()}/{@link #adminPassword()}) and a file service token for
 * {@code elastic/fleet-server} ({@link #serviceToken()}).
 */
public final class ElasticsearchTestCluster {

    /** System property: path of the {@code integ-test-zip} distribution zip. */
    public static final String ZIP_PROPERTY = "fleet.es.zip";
    /** System property: version looked up in the local Maven repository when {@value #ZIP_PROPERTY} is absent. */
    public static final String VERSION_PROPERTY = "fleet.es.version";
    /** System property: the Java home Elasticsearch runs with. */
    public static final String JAVA_HOME_PROPERTY = "fleet.es.java.home";
    /** System property: Elasticsearch heap size ({@code -Xms}/{@code -Xmx}). */
    public static final String HEAP_PROPERTY = "fleet.es.heap";
    /** System property: extra JVM options for Elasticsearch, appended to {@code ES_JAVA_OPTS}. */
    public static final String JAVA_OPTS_PROPERTY = "fleet.es.java.opts";
    public static final String DEFAULT_VERSION = "8.19.0";
    public static final String DEFAULT_HEAP = "512m";
    /** The unprivileged system user Elasticsearch runs as when the tests run as root. */
    public static final String ES_USER = "fleet-es";
    public static final String ADMIN_USER = "fleet-admin";
    public static final String SERVICE_ACCOUNT = "elastic/fleet-server";
    public static final String SERVICE_TOKEN_NAME = "fleet-server-test";
    public static final String CLUSTER_NAME = "fleet-test";

    private static final String ADMIN_PASSWORD = "fleet-admin-password";
    private static final String PLUGIN_NAME = "fleet-test-analysis";
    private static final String PLUGIN_CLASS = "dev.fleetserver.estest.analysis.FleetTestAnalysisPlugin";
    private static final String PLUGIN_RESOURCES = "es-analysis-plugin/";
    /** Bump when the layout of the cached distribution area changes. */
    private static final String CACHE_FORMAT = "1";
    private static final String MARKER = ".fleet-test-complete";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    /** {@code fleet-es-test} for root (CI); per user otherwise, so that users do not trip over each other's files. */
    private static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"),
        isRoot() ? "fleet-es-test" : "fleet-es-test-" + System.getProperty("user.name"));
    private static final Set<ElasticsearchTestCluster> LIVE = ConcurrentHashMap.newKeySet();
    private static ElasticsearchTestCluster shared;
    private static Distribution distribution;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (ElasticsearchTestCluster cluster : List.copyOf(LIVE)) {
                cluster.stop();
            }
        }, "elasticsearch-test-cluster-shutdown"));
    }

    private final Distribution dist;
    private final Path instanceDir;
    private final int httpPort;
    private final int transportPort;
    private final HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
    private volatile Process process;
    private volatile boolean closed;

    private ElasticsearchTestCluster(Distribution dist, Path instanceDir, int httpPort, int transportPort) {
        this.dist = dist;
        this.instanceDir = instanceDir;
        this.httpPort = httpPort;
        this.transportPort = transportPort;
    }

    /** The cluster shared by all tests of this JVM: started on first use, stopped by a JVM shutdown hook. */
    public static synchronized ElasticsearchTestCluster shared() {
        if (shared == null || shared.closed) {
            shared = startNew();
        }
        return shared;
    }

    /** Starts a separate cluster; the caller must {@link #stop()} it (a JVM shutdown hook stops it otherwise). */
    public static ElasticsearchTestCluster startNew() {
        try {
            Distribution dist = distribution();
            Path instance = createInstance(dist);
            int[] ports = freePorts(2);
            ElasticsearchTestCluster cluster = new ElasticsearchTestCluster(dist, instance, ports[0], ports[1]);
            LIVE.add(cluster);
            try {
                cluster.writeConfig();
                cluster.start();
            } catch (RuntimeException | Error e) {
                cluster.stop();
                throw e;
            }
            return cluster;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** E.g. {@code http://127.0.0.1:9200}. */
    public String httpUri() {
        return "http://127.0.0.1:" + httpPort;
    }

    public int httpPort() {
        return httpPort;
    }

    /** Token of the {@code elastic/fleet-server} service account, for {@code Authorization: Bearer <token>}. */
    public String serviceToken() {
        return dist.serviceToken();
    }

    /** A file-realm user with the {@code superuser} role. */
    public String adminUser() {
        return ADMIN_USER;
    }

    public String adminPassword() {
        return ADMIN_PASSWORD;
    }

    /** {@code Basic ...} header value for the admin user. */
    public String adminAuthorization() {
        return basic(ADMIN_USER, ADMIN_PASSWORD);
    }

    /** The Elasticsearch version running. */
    public String version() {
        return dist.version();
    }

    /** The instance directory (config, data, logs, tmp). */
    public Path instanceDir() {
        return instanceDir;
    }

    public boolean running() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** Stops the node (SIGTERM, wait, then kill) and deletes its instance directory. Idempotent. */
    public synchronized void stop() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stopProcess();
        } finally {
            LIVE.remove(this);
            try {
                TestFiles.deleteRecursively(instanceDir);
            } catch (IOException e) {
                System.err.println("could not delete " + instanceDir + ": " + e);
            }
        }
    }

    /** Stops the node but keeps its data and ports, for outage tests; {@link #startNode()} brings it back. */
    public synchronized void stopNode() {
        if (closed) {
            throw new IllegalStateException("cluster was stopped");
        }
        stopProcess();
    }

    /** Starts a node stopped with {@link #stopNode()} again and waits until it is ready. */
    public synchronized void startNode() {
        if (closed) {
            throw new IllegalStateException("cluster was stopped");
        }
        start();
    }

    /** Stops the node and starts it again on the same data directory and ports; waits until it is ready. */
    public synchronized void restart() {
        if (closed) {
            throw new IllegalStateException("cluster was stopped");
        }
        stopProcess();
        start();
    }

    /**
     * Sends a request with the admin credentials and returns the body; throws {@link IllegalStateException} for a
     * status of 300 and above. {@code jsonBody} may be {@code null}.
     */
    public String request(String method, String path, String jsonBody) {
        HttpResponse<String> response = send(method, path, jsonBody, adminAuthorization());
        if (response.statusCode() >= 300) {
            throw new IllegalStateException(method + " " + path + " -> " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    /**
     * Sends a request with the given {@code Authorization} header value ({@code null}: none) and returns the
     * response whatever its status. {@code jsonBody} may be {@code null}.
     */
    public HttpResponse<String> send(String method, String path, String jsonBody, String authorization) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(httpUri() + (path.startsWith("/") ? path : "/" + path)))
            .timeout(Duration.ofSeconds(60))
            .method(method, jsonBody == null
                ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(jsonBody, StandardCharsets.UTF_8));
        if (jsonBody != null) {
            builder.header("Content-Type", "application/json");
        }
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        try {
            return http.send(builder.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** {@code Basic base64(user:password)}. */
    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "ElasticsearchTestCluster[" + httpUri() + ", " + instanceDir + "]";
    }

    // ---------------------------------------------------------------------------------------------------------------
    // process

    private void start() {
        Path logs = instanceDir.resolve("logs");
        Path tmp = instanceDir.resolve("tmp");
        List<String> command = new ArrayList<>();
        if (isRoot()) {
            command.addAll(List.of("setpriv", "--reuid=" + ES_USER, "--regid=" + ES_USER, "--init-groups",
                "--pdeathsig", "KILL", "--"));
        } else if (setprivAvailable()) {
            command.addAll(List.of("setpriv", "--pdeathsig", "KILL", "--"));
        }
        command.add(dist.home().resolve("bin/elasticsearch").toString());
        ProcessBuilder builder = new ProcessBuilder(command)
            .directory(instanceDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve("console.log").toFile()));
        Map<String, String> env = builder.environment();
        for (String inherited : List.of("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "ES_JAVA_OPTS",
            "CLI_JAVA_OPTS", "ES_PATH_CONF", "ES_HOME", "ES_TMPDIR")) {
            env.remove(inherited);
        }
        env.put("ES_JAVA_HOME", dist.javaHome().toString());
        env.put("ES_PATH_CONF", instanceDir.resolve("config").toString());
        env.put("ES_TMPDIR", tmp.toString());
        env.put("HOME", instanceDir.toString());
        String heap = System.getProperty(HEAP_PROPERTY, DEFAULT_HEAP);
        // C1 only and no heap pre-touch: roughly halves the CPU a start costs (matters on 2-core CI machines).
        env.put("ES_JAVA_OPTS", ("-Xms" + heap + " -Xmx" + heap + " -XX:TieredStopAtLevel=1 -XX:-AlwaysPreTouch"
            + " -Djna.tmpdir=" + tmp + " " + System.getProperty(JAVA_OPTS_PROPERTY, "")).trim());
        env.put("CLI_JAVA_OPTS", "-XX:TieredStopAtLevel=1 -Djava.io.tmpdir=" + tmp);

        long begin = System.nanoTime();
        CompletableFuture<Process> started = new CompletableFuture<>();
        // The parent-death signal follows the forking thread: this thread must stay alive as long as the node.
        Thread waiter = new Thread(() -> {
            Process p;
            try {
                p = builder.start();
            } catch (Throwable e) {
                started.completeExceptionally(e);
                return;
            }
            started.complete(p);
            while (true) {
                try {
                    p.waitFor();
                    return;
                } catch (InterruptedException e) {
                    // keep waiting: leaving would kill the node
                }
            }
        }, "elasticsearch-" + httpPort);
        waiter.setDaemon(true);
        waiter.start();
        try {
            process = started.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not start " + command, e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new IllegalStateException("could not start " + command, e);
        }
        awaitReady();
        log("Elasticsearch " + dist.version() + " ready at " + httpUri() + " in " + millisSince(begin) + " ms ("
            + instanceDir + ")");
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static void log(String message) {
        System.out.println("[ElasticsearchTestCluster] " + message);
    }

    /**
     * Ready means: the {@code .security} index is active (it backs API keys, and service-token authentication reads
     * it as soon as it exists: 8.19 creates it just after start, so cluster health alone can be green too early)
     * and the service token authenticates.
     */
    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        long firstAnswer = 0;
        boolean creationRequested = false;
        String last = "no response";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Elasticsearch exited with " + process.exitValue()
                    + " before it was ready\n" + logTail());
            }
            try {
                HttpResponse<String> response = send("GET", "/_cluster/health/.security?wait_for_status=yellow"
                    + "&wait_for_no_initializing_shards=true&timeout=1s", null, adminAuthorization());
                if (response.statusCode() == 200) {
                    response = send("GET", "/_security/_authenticate", null, "Bearer " + serviceToken());
                    if (response.statusCode() == 200) {
                        return;
                    }
                } else if (response.statusCode() == 408) {
                    // The node answers, but .security is missing or not active yet.
                    if (firstAnswer == 0) {
                        firstAnswer = System.nanoTime();
                    } else if (!creationRequested && System.nanoTime() - firstAnswer > TimeUnit.SECONDS.toNanos(10)) {
                        // Versions that create it lazily: have it created by the first write to it.
                        creationRequested = true;
                        send("PUT", "/_security/role/fleet-test-readiness", "{\"cluster\":[]}", adminAuthorization());
                    }
                }
                last = response.statusCode() + " " + response.body();
            } catch (UncheckedIOException e) {
                last = String.valueOf(e.getCause());
            }
            try {
                process.waitFor(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for Elasticsearch", e);
            }
        }
        String tail = logTail();
        stopProcess();
        throw new IllegalStateException("Elasticsearch not ready within " + READY_TIMEOUT.toSeconds()
            + " s (last: " + last + ")\n" + tail);
    }

    private void stopProcess() {
        Process p = process;
        if (p == null) {
            return;
        }
        try {
            if (p.isAlive()) {
                List<ProcessHandle> descendants = p.descendants().toList();
                long begin = System.nanoTime();
                p.destroy(); // SIGTERM: the launcher stops the server process gracefully
                if (!p.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                log("Elasticsearch at " + httpUri() + " stopped in " + millisSince(begin) + " ms");
                for (ProcessHandle child : descendants) {
                    if (child.isAlive()) {
                        child.destroyForcibly();
                        child.onExit().get(10, TimeUnit.SECONDS);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        } catch (ExecutionException | TimeoutException e) {
            // best effort
        } finally {
            process = null;
        }
    }

    private String logTail() {
        StringBuilder out = new StringBuilder();
        for (String name : List.of(CLUSTER_NAME + ".log", "console.log")) {
            Path file = instanceDir.resolve("logs").resolve(name);
            if (Files.exists(file)) {
                try {
                    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                    out.append("---- tail of ").append(file).append('\n');
                    lines.subList(Math.max(0, lines.size() - 60), lines.size())
                        .forEach(line -> out.append(line).append('\n'));
                } catch (IOException e) {
                    out.append("(cannot read ").append(file).append(": ").append(e).append(")\n");
                }
            }
        }
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // instance

    private static Path createInstance(Distribution dist) throws IOException {
        Path instances = ROOT.resolve("instances");
        Files.createDirectories(instances);
        setMode(ROOT, "rwxr-xr-x");
        setMode(instances, "rwxr-xr-x");
        removeOrphanedInstances(instances);
        Path instance = instances.resolve(UUID.randomUUID().toString().substring(0, 8));
        Files.createDirectory(instance);
        Files.writeString(instance.resolve("owner.pid"), Long.toString(ProcessHandle.current().pid()));
        for (String dir : List.of("data", "logs", "tmp")) {
            Files.createDirectory(instance.resolve(dir));
        }
        Path config = instance.resolve("config");
        copyRecursively(dist.home().resolve("config"), config);
        for (String file : List.of("users", "users_roles", "service_tokens")) {
            Files.copy(dist.credentials().resolve(file), config.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
        return instance;
    }

    /** Instance directories whose owning JVM is gone (e.g. killed builds). */
    private static void removeOrphanedInstances(Path instances) {
        try (Stream<Path> dirs = Files.list(instances)) {
            for (Path dir : dirs.toList()) {
                Optional<ProcessHandle> owner;
                try {
                    owner = ProcessHandle.of(Long.parseLong(Files.readString(dir.resolve("owner.pid")).trim()));
                } catch (IOException | NumberFormatException e) {
                    long age = System.currentTimeMillis() - Files.getLastModifiedTime(dir).toMillis();
                    owner = age > Duration.ofHours(1).toMillis() ? Optional.empty() : Optional.of(ProcessHandle.current());
                }
                if (owner.isEmpty()) {
                    TestFiles.deleteRecursively(dir);
                }
            }
        } catch (IOException e) {
            // best effort
        }
    }

    private void writeConfig() throws IOException {
        Path config = instanceDir.resolve("config");
        Path logs = instanceDir.resolve("logs");
        String yml = String.join("\n",
            "cluster.name: " + CLUSTER_NAME,
            "node.name: " + CLUSTER_NAME + "-node",
            "discovery.type: single-node",
            "network.host: 127.0.0.1",
            "http.port: " + httpPort,
            "transport.port: " + transportPort,
            "xpack.security.enabled: true",
            "xpack.security.http.ssl.enabled: false",
            "xpack.security.transport.ssl.enabled: false",
            "node.store.allow_mmap: false",
            "path.data: " + instanceDir.resolve("data"),
            "path.logs: " + logs,
            "cluster.routing.allocation.disk.threshold_enabled: false",
            "action.destructive_requires_name: false",
            "");
        Files.writeString(config.resolve("elasticsearch.yml"), yml, StandardCharsets.UTF_8);
        // jvm.options refers to logs/ and data relative to the working directory; make them absolute.
        Path jvmOptions = config.resolve("jvm.options");
        String options = Files.readString(jvmOptions, StandardCharsets.UTF_8)
            .replace("-XX:HeapDumpPath=data", "-XX:HeapDumpPath=" + logs)
            .replace("-XX:ErrorFile=logs/", "-XX:ErrorFile=" + logs + "/")
            .replace("file=logs/gc.log", "file=" + logs + "/gc.log")
            .replace("filecount=32,filesize=64m", "filecount=2,filesize=16m");
        Files.writeString(jvmOptions, options, StandardCharsets.UTF_8);
        if (isRoot()) {
            chownRecursively(instanceDir, ES_USER);
        }
    }

    private static int[] freePorts(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                sockets.add(socket);
                ports[i] = socket.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // distribution (unpacked once per version, shared by all instances and JVMs)

    private record Distribution(String version, Path home, Path credentials, String serviceToken, Path javaHome) {
    }

    private static synchronized Distribution distribution() throws IOException {
        if (distribution != null) {
            return distribution;
        }
        Path zip = locateZip();
        String version = versionOf(zip);
        Path javaHome = javaHome();
        Files.createDirectories(ROOT);
        setMode(ROOT, "rwxr-xr-x");
        Path home = ROOT.resolve("elasticsearch-" + version);
        Path credentials = ROOT.resolve("elasticsearch-" + version + "-credentials");
        String key = String.join("\n", "format=" + CACHE_FORMAT, "version=" + version,
            "zip.size=" + Files.size(zip), "plugin=" + pluginSourcesDigest(), "");
        try (FileChannel lockChannel = FileChannel.open(ROOT.resolve(".lock"),
            StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lockChannel.lock()) {
            Path marker = home.resolve(MARKER);
            boolean complete = Files.exists(marker) && Files.readString(marker).equals(key)
                && Files.exists(credentials.resolve("service_token.txt"));
            if (isRoot()) {
                ensureUser();
            }
            if (!complete) {
                long begin = System.nanoTime();
                prepare(zip, version, home, credentials, javaHome);
                log("prepared " + home + " in " + millisSince(begin) + " ms");
                Files.writeString(marker, key);
            }
            String token = Files.readString(credentials.resolve("service_token.txt")).trim();
            distribution = new Distribution(version, home, credentials, token, javaHome);
            return distribution;
        }
    }

    private static void prepare(Path zip, String version, Path home, Path credentials, Path javaHome)
        throws IOException {
        TestFiles.deleteRecursively(home);
        TestFiles.deleteRecursively(credentials);
        Path staging = ROOT.resolve("staging-" + UUID.randomUUID());
        try {
            unzip(zip, staging);
            Path unpacked = staging.resolve("elasticsearch-" + version);
            if (!Files.isDirectory(unpacked)) {
                throw new IOException("unexpected layout of " + zip + ": no elasticsearch-" + version + "/");
            }
            try (Stream<Path> bin = Files.list(unpacked.resolve("bin"))) {
                for (Path script : bin.toList()) {
                    setMode(script, "rwxr-xr-x");
                }
            }
            installPlugin(unpacked, version);
            generateCredentials(unpacked, credentials, javaHome);
            makeReadable(unpacked);
            try {
                Files.move(unpacked, home, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(unpacked, home);
            }
        } finally {
            TestFiles.deleteRecursively(staging);
        }
    }

    private static Path locateZip() {
        String property = System.getProperty(ZIP_PROPERTY);
        if (property != null && !property.isBlank()) {
            Path zip = Path.of(property);
            if (!Files.isRegularFile(zip)) {
                throw new IllegalStateException(ZIP_PROPERTY + "=" + property + " does not exist");
            }
            return zip.toAbsolutePath();
        }
        String version = System.getProperty(VERSION_PROPERTY, DEFAULT_VERSION);
        String repo = System.getProperty("maven.repo.local",
            Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
        Path zip = Path.of(repo, "org", "elasticsearch", "distribution", "integ-test-zip", "elasticsearch", version,
            "elasticsearch-" + version + ".zip");
        if (!Files.isRegularFile(zip)) {
            throw new IllegalStateException("Elasticsearch distribution not found: set -D" + ZIP_PROPERTY
                + "=<zip> or resolve org.elasticsearch.distribution.integ-test-zip:elasticsearch:" + version
                + ":zip into the local repository (expected " + zip + ")");
        }
        return zip;
    }

    private static String versionOf(Path zip) throws IOException {
        try (ZipFile file = new ZipFile(zip.toFile())) {
            Pattern top = Pattern.compile("^elasticsearch-([^/]+)/");
            return file.stream()
                .map(entry -> top.matcher(entry.getName()))
                .filter(Matcher::find)
                .map(m -> m.group(1))
                .findFirst()
                .orElseThrow(() -> new IOException("not an Elasticsearch distribution: " + zip));
        }
    }

    private static Path javaHome() {
        String configured = System.getProperty(JAVA_HOME_PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv("ES_JAVA_HOME");
        }
        if (configured == null || configured.isBlank()) {
            configured = System.getProperty("java.home");
        }
        return Path.of(configured);
    }

    private static void unzip(Path zip, Path target) throws IOException {
        Files.createDirectories(target);
        Path root = target.toAbsolutePath().normalize();
        try (ZipFile file = new ZipFile(zip.toFile())) {
            for (ZipEntry entry : java.util.Collections.list(file.entries())) {
                Path out = root.resolve(entry.getName()).normalize();
                if (!out.startsWith(root)) {
                    throw new IOException("bad zip entry " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    try (InputStream in = file.getInputStream(entry)) {
                        Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // analysis plugin

    private static List<String> pluginSourceNames() throws IOException {
        return resource("sources.txt").lines()
            .map(String::trim)
            .filter(line -> !line.isEmpty() && !line.startsWith("#"))
            .toList();
    }

    private static String pluginSourcesDigest() throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (String name : pluginSourceNames()) {
                digest.update(resource(name).getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ElasticsearchTestCluster.class.getClassLoader().getResourceAsStream(PLUGIN_RESOURCES + name)) {
            if (in == null) {
                throw new IOException("missing test resource " + PLUGIN_RESOURCES + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void installPlugin(Path esHome, String version) throws IOException {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        if (compiler == null) {
            throw new IllegalStateException("no Java compiler in " + System.getProperty("java.home")
                + ": run the tests on a JDK");
        }
        Path work = esHome.resolve("fleet-plugin-build");
        Path src = work.resolve("src");
        Path classes = work.resolve("classes");
        Files.createDirectories(classes);
        String classpath;
        try (Stream<Path> jars = Files.list(esHome.resolve("lib"))) {
            classpath = jars.filter(jar -> jar.getFileName().toString().endsWith(".jar"))
                .map(Path::toString)
                .sorted()
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        }
        List<String> args = new ArrayList<>(List.of("--release", "17", "-nowarn", "-proc:none", "-encoding", "UTF-8",
            "-d", classes.toString(), "-cp", classpath));
        for (String name : pluginSourceNames()) {
            String code = resource(name);
            Matcher pkg = Pattern.compile("(?m)^package\\s+([\\w.]+)\\s*;").matcher(code);
            Path dir = pkg.find() ? src.resolve(pkg.group(1).replace('.', '/')) : src;
            Files.createDirectories(dir);
            Path file = dir.resolve(name.replaceFirst("\\.txt$", ""));
            Files.writeString(file, code, StandardCharsets.UTF_8);
            args.add(file.toString());
        }
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = compiler.run(null, diagnostics, diagnostics, args.toArray(String[]::new));
        if (rc != 0) {
            throw new IllegalStateException("compiling the analysis plugin failed:\n" + diagnostics);
        }
        Path pluginDir = esHome.resolve("plugins").resolve(PLUGIN_NAME);
        Files.createDirectories(pluginDir);
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        try (OutputStream out = Files.newOutputStream(pluginDir.resolve(PLUGIN_NAME + ".jar"));
             JarOutputStream jar = new JarOutputStream(out, manifest);
             Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                jar.putNextEntry(new JarEntry(classes.relativize(file).toString().replace('\\', '/')));
                Files.copy(file, jar);
                jar.closeEntry();
            }
        }
        String descriptor = String.join("\n",
            "name=" + PLUGIN_NAME,
            "description=Test-only analysis components for the .security index (uax_url_email, pattern_capture, unique)",
            "version=" + version,
            "classname=" + PLUGIN_CLASS,
            "java.version=17",
            "elasticsearch.version=" + version,
            "extended.plugins=",
            "has.native.controller=false",
            "");
        Files.writeString(pluginDir.resolve("plugin-descriptor.properties"), descriptor, StandardCharsets.ISO_8859_1);
        TestFiles.deleteRecursively(work);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // credentials

    private static void generateCredentials(Path esHome, Path credentials, Path javaHome) throws IOException {
        Path usersConf = ROOT.resolve("conf-users-" + UUID.randomUUID());
        Path tokensConf = ROOT.resolve("conf-tokens-" + UUID.randomUUID());
        try {
            copyRecursively(esHome.resolve("config"), usersConf);
            copyRecursively(esHome.resolve("config"), tokensConf);
            // Both tools start a JVM (~4 s each): run them in parallel on separate config directories.
            CompletableFuture<String> users = CompletableFuture.supplyAsync(() -> runTool(esHome, usersConf, javaHome,
                "bin/elasticsearch-users", "useradd", ADMIN_USER, "-p", ADMIN_PASSWORD, "-r", "superuser"));
            CompletableFuture<String> tokens = CompletableFuture.supplyAsync(() -> runTool(esHome, tokensConf, javaHome,
                "bin/elasticsearch-service-tokens", "create", SERVICE_ACCOUNT, SERVICE_TOKEN_NAME));
            String tokenOutput = tokens.join();
            users.join();
            Matcher m = Pattern.compile("SERVICE_TOKEN\\s+\\S+\\s*=\\s*(\\S+)").matcher(tokenOutput);
            if (!m.find()) {
                throw new IllegalStateException("no token in output of elasticsearch-service-tokens:\n" + tokenOutput);
            }
            Path staging = ROOT.resolve("credentials-" + UUID.randomUUID());
            Files.createDirectory(staging);
            setMode(staging, "rwx------");
            Files.copy(usersConf.resolve("users"), staging.resolve("users"));
            Files.copy(usersConf.resolve("users_roles"), staging.resolve("users_roles"));
            Files.copy(tokensConf.resolve("service_tokens"), staging.resolve("service_tokens"));
            Files.writeString(staging.resolve("service_token.txt"), m.group(1) + "\n");
            Files.move(staging, credentials, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            TestFiles.deleteRecursively(usersConf);
            TestFiles.deleteRecursively(tokensConf);
        }
    }

    private static String runTool(Path esHome, Path conf, Path javaHome, String... command) {
        List<String> cmd = new ArrayList<>(List.of(command));
        cmd.set(0, esHome.resolve(command[0]).toString());
        ProcessBuilder builder = new ProcessBuilder(cmd).directory(esHome.toFile()).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        for (String inherited : List.of("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLI_JAVA_OPTS")) {
            env.remove(inherited);
        }
        env.put("ES_JAVA_HOME", javaHome.toString());
        env.put("ES_PATH_CONF", conf.toString());
        try {
            Process p = builder.start();
            p.getOutputStream().close();
            CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
                try (InputStream in = p.getInputStream()) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(cmd + " did not finish within 120 s");
            }
            String out = output.get(10, TimeUnit.SECONDS);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd + " exited with " + p.exitValue() + ":\n" + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(cmd + " output unreadable", e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // users and files

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static boolean setprivAvailable() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, "setpriv"))) {
                return true;
            }
        }
        return false;
    }

    private static void ensureUser() throws IOException {
        if (exec("id", "-u", ES_USER) == 0) {
            return;
        }
        int rc = exec("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER);
        if (rc != 0 && rc != 9) { // 9: already exists (created concurrently)
            throw new IllegalStateException("useradd " + ES_USER + " failed with " + rc);
        }
    }

    private static int exec(String... command) throws IOException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " timed out");
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void chownRecursively(Path dir, String user) throws IOException {
        UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal owner = lookup.lookupPrincipalByName(user);
        GroupPrincipal group = lookup.lookupPrincipalByGroupName(user);
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.toList()) {
                PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
                view.setOwner(owner);
                view.setGroup(group);
            }
        }
    }

    /** Directories {@code rwxr-xr-x}, files at least {@code r--r--r--} (executables keep their x bits). */
    private static void makeReadable(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path file : files.toList()) {
                if (Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS)) {
                    setMode(file, "rwxr-xr-x");
                } else if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                    setMode(file, Files.isExecutable(file) && file.getParent().getFileName().toString().equals("bin")
                        ? "rwxr-xr-x" : "rw-r--r--");
                }
            }
        }
    }

    private static void setMode(Path file, String mode) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
    }

    private static void copyRecursively(Path source, Path target) throws IOException {
        try (Stream<Path> files = Files.walk(source)) {
            for (Path file : files.toList()) {
                Path out = target.resolve(source.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(out);
                } else {
                    Files.copy(file, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
