package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * What the chaos phases share: the options, the work and log directories, the Elasticsearch node (started on first
 * use, kept across phases), and how to start our server, load generators and attack clients, and talk to the
 * management API. Every process started here is registered and ended by {@link #endPhase()} or {@link #close()}.
 */
final class ChaosRig implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    final Args args;
    final Path work;
    final Path logs;
    final String jar;
    private final List<Child> children = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private EsCluster es;

    ChaosRig(Args args) {
        this.args = args;
        this.work = Path.of(args.get("work-dir", "/tmp/fleet-chaos"));
        this.logs = work.resolve("logs");
        this.jar = args.get("jar", "fleet-server-netty/target/fleet-server.jar");
    }

    int integer(String name, int def) {
        return args.integer(name, def);
    }

    /** The Elasticsearch node, started on first use. */
    EsCluster es() throws Exception {
        if (es == null) {
            es = EsCluster.start(work, args.get("es-heap", "1g"),
                    args.get("es-classpath", "bench/target/test-classes:fleet-server-es/target/test-classes"));
        }
        return es;
    }

    /** A fresh directory for a phase (its data dirs, journals, credentials). */
    Path phaseDir(String phase) throws IOException {
        Path dir = work.resolve(phase);
        BenchRunner.deleteTree(dir);
        Files.createDirectories(dir);
        return dir;
    }

    /** The JVM options of our server: {@code --xmx} (default 1g) and G1, plus {@code extra}. */
    List<String> serverJvm(String xmx, String... extra) {
        List<String> jvm = new ArrayList<>(List.of("-Xmx" + xmx, "-XX:+UseG1GC"));
        jvm.addAll(List.of(extra));
        return jvm;
    }

    /**
     * Our server (not started) on {@code dataDir}, loopback, agent port {@code port} and management port
     * {@code port + 1}; with {@code yaml} non-null, that configuration file (written into the data dir).
     */
    ServerProcess server(String name, Path dataDir, int port, List<String> jvm, String yaml) throws IOException {
        Files.createDirectories(dataDir);
        List<String> cmd = new ArrayList<>();
        cmd.add(BenchRunner.java());
        cmd.addAll(jvm);
        cmd.addAll(List.of("-jar", jar));
        if (yaml != null) {
            Path file = dataDir.resolve("fleet-server.yml");
            Files.writeString(file, yaml);
            cmd.addAll(List.of("--config", file.toString()));
        }
        cmd.addAll(List.of("--data-dir", dataDir.toString(), "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--management-port", Integer.toString(port + 1)));
        return new ServerProcess(name, cmd, logs.resolve(name + ".log"), port, port + 1, children);
    }

    /** The configuration that puts a server on the Elasticsearch node. */
    String esYaml() throws Exception {
        EsCluster e = es();
        return "output:\n  elasticsearch:\n    hosts: [\"" + e.uri + "\"]\n    service_token: \"" + e.serviceToken + "\"\n";
    }

    /**
     * One {@link LoadGenerator} process of {@code agents} agents over {@code targets} (agent i's home is target
     * i mod n; it fails over to the others), its connections bound to 127.0.{@code octet}.1–8 and its agents named
     * after {@code octet} (so two generators of a phase never share an agent name); stops by itself after
     * {@code maxSeconds}. {@code extra}: more generator options.
     */
    Generators generator(String name, List<ServerProcess> targets, String token, int agents, int octet, long maxSeconds,
                         List<String> extra) throws IOException {
        Generators g = new Generators(1);
        List<String> cmd = new ArrayList<>(List.of(BenchRunner.java(), "-Xmx" + args.get("generator-xmx", "1g"), "-cp",
                System.getProperty("java.class.path"), LoadGenerator.class.getName(),
                "--targets", String.join(",", targets.stream().map(s -> "127.0.0.1:" + s.port).toList()),
                "--token", token, "--agents", Integer.toString(agents), "--id", Integer.toString(octet),
                "--sources", "127.0." + octet + ".1-127.0." + octet + ".8", "--max-seconds", Long.toString(maxSeconds)));
        cmd.addAll(extra);
        Child c = new Child(name, cmd, logs.resolve(name + ".log"), l -> g.onLine(0, l));
        children.add(c);
        g.children.add(c);
        return g;
    }

    /** An {@link AttackClient} process against {@code port}; its JSON lines go to {@code onLine}. */
    Child attacker(String name, int port, String mode, int connections, long seconds, int requests,
                   Consumer<JsonNode> onLine) throws IOException {
        List<String> cmd = List.of(BenchRunner.java(), "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                AttackClient.class.getName(), "--target", "127.0.0.1:" + port, "--mode", mode,
                "--connections", Integer.toString(connections), "--seconds", Long.toString(seconds),
                "--requests", Integer.toString(requests), "--sources", "127.0.60.1-127.0.60.8");
        Child c = new Child(name, cmd, logs.resolve(name + ".log"), l -> {
            if (l.startsWith("{")) {
                try {
                    onLine.accept(JSON.readTree(l));
                } catch (IOException e) {
                    // Not one of its lines.
                }
            }
        });
        children.add(c);
        return c;
    }

    // ------------------------------------------------------------------ management API

    /**
     * {@code PUT /api/fleet/agent_policies/default} with a logging level, retried each second while the server is
     * unreachable or answers 5xx, until {@code deadline}; the new revision, or -1.
     */
    long putPolicy(ServerProcess s, String level, long deadline) throws InterruptedException {
        JsonNode r = management(s, "PUT", "/api/fleet/agent_policies/default",
                "{\"agent\":{\"logging\":{\"level\":\"" + level + "\"}}}", deadline);
        return r == null ? -1 : r.path("item").path("revision").asLong(-1);
    }

    /** {@code POST /api/fleet/agents/bulk_upgrade} naming {@code ids} (retried as {@link #putPolicy}); its action id or null. */
    String bulkUpgrade(ServerProcess s, List<String> ids, String version, long deadline) throws InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode arr = body.putArray("agents");
        ids.forEach(arr::add);
        body.put("version", version);
        JsonNode r = management(s, "POST", "/api/fleet/agents/bulk_upgrade", body.toString(), deadline);
        return r == null ? null : r.path("actionId").asText(null);
    }

    private JsonNode management(ServerProcess s, String method, String path, String body, long deadline)
            throws InterruptedException {
        String last = "";
        while (System.nanoTime() - deadline < 0) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.mport + path))
                        .header("Authorization", "Bearer " + s.managementToken).header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(60)).method(method, HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return JSON.readTree(r.body());
                }
                last = r.statusCode() + " " + r.body();
                if (r.statusCode() < 500) {
                    break;
                }
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(1000);
        }
        BenchRunner.log("  " + method + " " + path + " failed: " + last);
        return null;
    }

    /**
     * Asks {@code g}'s generators to report when all their agents hold {@code revision} (timed from {@code t0}, a
     * nanoTime), waits for their reports (at most {@code timeoutMillis} + 10 s): {@code received}, {@code agents},
     * {@code maxMillis}, {@code p50Millis}; {@code received} is -1 when a generator did not report.
     */
    ObjectNode fanout(Generators g, long revision, long t0, long timeoutMillis) throws Exception {
        g.fanouts.clear();
        for (Child c : g.children) {
            c.send("fanout " + revision + " " + t0 + " " + timeoutMillis);
        }
        ObjectNode r = JSON.createObjectNode();
        long received = 0;
        long agents = 0;
        double max = 0;
        double p50 = 0;
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis + 10_000);
        int reports = 0;
        while (reports < g.children.size()) {
            JsonNode e = g.fanouts.poll(Math.max(1, (until - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            if (e == null) {
                r.put("received", -1);
                return r;
            }
            if (e.path("revision").asLong() != revision) {
                continue;
            }
            reports++;
            received += e.path("received").asLong();
            agents += e.path("agents").asLong();
            max = Math.max(max, e.path("maxMicros").asLong() / 1000.0);
            p50 = Math.max(p50, e.path("p50Micros").asLong() / 1000.0);
        }
        r.put("revision", revision);
        r.put("received", received);
        r.put("agents", agents);
        r.put("p50Millis", p50);
        r.put("maxMillis", max);
        return r;
    }

    // ------------------------------------------------------------------ teardown

    /** Ends every process of the phase (servers, generators, attackers); the Elasticsearch node stays. */
    void endPhase() {
        for (Child c : children) {
            c.close(0);
        }
        children.clear();
    }

    @Override
    public void close() {
        endPhase();
        if (es != null) {
            es.child.close(60);
        }
    }

    /** Counts by key as a JSON object. */
    static ObjectNode json(Map<String, Long> counts) {
        ObjectNode o = JSON.createObjectNode();
        counts.forEach(o::put);
        return o;
    }
}
