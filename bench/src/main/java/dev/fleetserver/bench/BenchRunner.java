package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * Runs the park + policy fan-out scenario end to end on this machine, against our server (embedded store) and/or
 * the {@link Baseline}, for each agent count, a number of repetitions, interleaved so that both are measured in the
 * same run under the same conditions.
 *
 * <p>One run: start the server JVM (fixed {@code -Xmx}, fresh data dir) → measure its memory at rest → start
 * ⌈N / per-generator⌉ {@link LoadGenerator} processes, each on its own source addresses 127.0.(g+1).1–8 → wait
 * until all N agents are parked and have been for {@code --settle-seconds} → measure memory again and take a
 * class histogram → {@code --fanouts} times: PUT a new policy revision and measure, from just before the PUT, when
 * each agent received it → stop everything. Results: {@code <out>/park-fanout-<server>-<N>.json} (all runs so far),
 * then {@link Report} writes the summary table and plot. Every wait is bounded; a run never exceeds
 * {@code --max-seconds}.
 */
public final class BenchRunner {
    static final String USAGE = """
            java -jar bench/target/bench.jar [--server ours|baseline|both] [--agents 1000,5000,10000,19000]
                [--reps 3] [--fanouts 3] [--jar fleet-server-netty/target/fleet-server.jar] [--xmx 1g]
                [--generator-xmx 1g] [--per-generator 10000] [--enroll-concurrency 400] [--out bench/results]
                [--work-dir /tmp/fleet-bench] [--max-seconds 1200] [--settle-seconds 3] [--fanout-timeout-seconds 60]
                [--port 18220] [--management-port 18221] [--warmup-fanouts 1] [--apply-millis 1000]
                [--tls off|ecdsa|rsa --tls-engine openssl|jdk --tls-resume true]  (ours: agents speak TLS to a
                                  certificate of that kind made for this invocation; the server's engine; whether
                                  agents keep sessions and resume them)
                [--enroll-per-second 0]  (ours: the server's enroll rate limit; 0 keeps its default, 100/s)
                [--api-key-ttl-seconds 0]  (ours: cache.ttl_api_key, a third of it as jitter; 0 keeps 15m/5m)
                [--gzip true]  (agents send Accept-Encoding: gzip, as Elastic Agent does; false: answers uncompressed)
                [--policy-kb 0]  (park-fanout: each new revision carries inputs of about this many KiB, as a policy
                                  with a dozen integrations; 0: only the logging level changes, ~1 KB)
                [--server-jvm-args "-XX:StartFlightRecording=filename=/tmp/s.jfr,settings=profile"]
                [--quiet-below-cores 0.5 --quiet-wait-seconds 0]   (wait, bounded, for other load to calm down)
                [--noisy-above-cores 0.5 --noisy-retries 1]  (a run during which other processes used more CPU
                                                              is marked noisy and run again)
                [--scenario park-fanout|action-fanout|storm|enroll|artifact-storm|steady|console|chaos|upload|store-search]
                                      (default park-fanout; chaos, upload and store-search take options of their own:
                                       --scenario <name> --help)
                [--store embedded|es] [--servers 1]   (es: starts the real test Elasticsearch via EsNode;
                                                       servers > 1: agents round-robin over them, ours only)
                [--es-classpath bench/target/test-classes:fleet-server-es/target/test-classes] [--es-heap 1g]
                [--storms 2 --storm-signal term|kill]  (storm: restarts of the server per run)
                [--console-rounds 5]  (console: each browser-console call timed this many times, agents parked)
                [--steady-seconds 330]  (steady, --store es: what parked agents cost Elasticsearch over this window,
                                         then the policy fan-outs; es fan-outs record their cost too)
                [--idle-below-cores 0.3]  (before each measurement: wait, at most 180 s, until the servers' CPU is
                                           below this over 2 s, i.e. they have worked off what agents sent)
                [--seed-es false]  (true: instead of enrolling through the server, create the agents' API keys
                                    and .fleet-agents documents directly in Elasticsearch; agents start at checkin)""";
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper LINES = new ObjectMapper();

    private final Args args;
    private final Path out;
    private final Path work;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Child> children = new CopyOnWriteArrayList<>();
    /** The Elasticsearch node of this invocation ({@code --store es}), kept across runs; null on the embedded store. */
    private EsCluster es;
    /** The certificate files of {@code --tls}, made once per invocation; null without TLS. */
    private BenchTls.Pki pki;
    /** The run in progress, so that a failed run still records what it measured. */
    private ObjectNode current;

    private BenchRunner(Args args) {
        this.args = args;
        this.out = Path.of(args.get("out", "bench/results"));
        this.work = Path.of(args.get("work-dir", "/tmp/fleet-bench"));
    }

    public static void main(String[] argv) throws Exception {
        for (int i = 0; i + 1 < argv.length; i++) {
            if (argv[i].equals("--scenario") && argv[i + 1].equals("upload")) {
                UploadBench.main(argv);
                return;
            }
            if (argv[i].equals("--scenario") && argv[i + 1].equals("store-search")) {
                StoreSearchBench.main(argv);
                return;
            }
            if (argv[i].equals("--scenario") && argv[i + 1].equals("chaos")) {
                // Its own runner and options: phases with verdicts rather than repeated measurements.
                ChaosRunner.main(argv);
                return;
            }
        }
        Args a = new Args(argv, USAGE, List.of("server", "agents", "reps", "fanouts", "jar", "xmx", "generator-xmx",
                "per-generator", "enroll-concurrency", "out", "work-dir", "max-seconds", "settle-seconds",
                "fanout-timeout-seconds", "port", "management-port", "warmup-fanouts", "quiet-below-cores",
                "quiet-wait-seconds", "apply-millis", "noisy-above-cores", "noisy-retries", "server-jvm-args",
                "scenario", "store", "servers", "es-classpath", "es-heap", "storms", "storm-signal", "seed-es", "idle-below-cores",
                "artifact-bytes", "policy-kb", "gzip", "tls", "tls-engine", "tls-resume",
                "enroll-per-second", "steady-seconds", "api-key-ttl-seconds", "console-rounds"));
        BenchRunner r = new BenchRunner(a);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            r.children.forEach(Child::close);
            if (r.es != null) {
                r.es.child.close(60);
            }
        }, "bench-cleanup"));
        r.runAll();
        if (r.es != null) {
            r.es.child.close(60);
        }
        System.exit(0);
    }

    private void runAll() throws Exception {
        String which = args.get("server", "both");
        List<String> servers = which.equals("both") ? List.of("ours", "baseline") : List.of(which);
        int reps = args.integer("reps", 3);
        Files.createDirectories(out);
        ObjectNode machine = machine();
        String tls = args.get("tls", "off");
        if (!tls.equals("off")) {
            if (!which.equals("ours")) {
                throw new IllegalArgumentException("--tls applies to --server ours only");
            }
            pki = BenchTls.makePki(work.resolve("pki-" + tls), tls);
        }
        if (args.get("store", "embedded").equals("es")) {
            es = EsCluster.start(work, args.get("es-heap", "1g"),
                    args.get("es-classpath", "bench/target/test-classes:fleet-server-es/target/test-classes"));
            machine.put("elasticsearch", es.version);
        }
        for (String n : args.get("agents", "1000,5000,10000,19000").split(",")) {
            int agents = Integer.parseInt(n.trim());
            for (int rep = 1; rep <= reps; rep++) {
                for (String server : servers) {
                    int retries = args.integer("noisy-retries", 1);
                    for (int attempt = 0; attempt <= retries; attempt++) {
                        ObjectNode run;
                        try {
                            double before = awaitQuiet();
                            String load = Files.readString(Path.of("/proc/loadavg")).trim();
                            run = runOnce(server, agents, rep);
                            run.put("machineBusyCoresBefore", before);
                            run.put("loadAverageBefore", load);
                            run.put("loadAverageAfter", Files.readString(Path.of("/proc/loadavg")).trim());
                        } catch (Exception e) {
                            // Keep what was measured before the failure (e.g. the fan-outs before a timeout).
                            run = current != null ? current : LINES.createObjectNode();
                            run.put("rep", rep);
                            run.put("failed", e.toString());
                            log("run failed: " + e);
                        } finally {
                            children.forEach(Child::close);
                            children.clear();
                        }
                        boolean noisy = noisy(run);
                        run.put("noisy", noisy);
                        append(server, agents, run, machine);
                        if (!noisy) {
                            break;
                        }
                        log("other processes used the CPU during this run; it is kept, marked noisy"
                                + (attempt < retries ? ", and run again" : ""));
                    }
                }
            }
        }
        if (scenario().equals("park-fanout") && label("ours").equals("ours")) {
            Report.main(new String[] {"--out", out.toString()});
        }
        ScenarioReport.main(new String[] {"--out", out.toString()});
    }

    private String scenario() {
        return args.get("scenario", "park-fanout");
    }

    private int serverCount(String server) {
        return server.equals("ours") ? args.integer("servers", 1) : 1;
    }

    /** {@code ours}, {@code ours-es}, {@code ours-es-x3}: the server under test as results name it. */
    private String label(String server) {
        int k = serverCount(server);
        return server + (es != null && server.equals("ours") ? "-es" : "") + (k > 1 ? "-x" + k : "") + tlsLabel()
                + (gzip() ? "" : "-nogzip");
    }

    /** Whether the simulated agents ask for gzip ({@code --gzip}, default true as Elastic Agent does). */
    private boolean gzip() {
        return Boolean.parseBoolean(args.get("gzip", "true"));
    }

    /** {@code -tls-<certificate>-<engine>}, {@code -noresume} when agents keep no sessions; empty without TLS. */
    private String tlsLabel() {
        if (pki == null) {
            return "";
        }
        return "-tls-" + args.get("tls", "off") + "-" + args.get("tls-engine", "openssl")
                + (Boolean.parseBoolean(args.get("tls-resume", "true")) ? "" : "-noresume");
    }

    /** Whether other processes used more than --noisy-above-cores while parking or during a measured fan-out. */
    private boolean noisy(JsonNode run) {
        double limit = Double.parseDouble(args.get("noisy-above-cores", "0.5"));
        boolean noisy = run.path("parkCpu").path("foreignCores").asDouble() > limit;
        for (JsonNode f : run.path("fanouts")) {
            noisy |= !f.path("warmup").asBoolean() && f.path("cpu").path("foreignCores").asDouble() > limit;
        }
        for (JsonNode f : run.path("storms")) {
            noisy |= f.path("cpu").path("foreignCores").asDouble() > limit;
        }
        noisy |= run.path("enrollCpu").path("foreignCores").asDouble() > limit;
        return noisy;
    }

    /** Waits up to --quiet-wait-seconds for the machine to be below --quiet-below-cores busy; returns the last reading. */
    private double awaitQuiet() throws InterruptedException {
        double limit = Double.parseDouble(args.get("quiet-below-cores", "0.5"));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(args.integer("quiet-wait-seconds", 0));
        double busy = CpuMeter.machineBusyCores(2000);
        while (busy > limit && System.nanoTime() < until) {
            log(String.format(java.util.Locale.ROOT, "machine busy with %.2f cores of other work; waiting", busy));
            busy = CpuMeter.machineBusyCores(10_000);
        }
        return busy;
    }

    private void append(String server, int agents, ObjectNode run, ObjectNode machine) throws IOException {
        Path file = out.resolve(scenario() + "-" + label(server) + "-" + agents + ".json");
        ObjectNode doc;
        if (Files.exists(file)) {
            doc = (ObjectNode) JSON.readTree(file.toFile());
        } else {
            doc = JSON.createObjectNode();
            doc.put("scenario", scenario());
            doc.put("server", label(server));
            doc.put("store", es != null && server.equals("ours") ? "elasticsearch" : "embedded");
            doc.put("servers", serverCount(server));
            doc.put("agents", agents);
            doc.set("machine", machine);
            doc.putArray("runs");
        }
        ((ArrayNode) doc.get("runs")).add(run);
        // Replaced whole: a runner stopped while writing must not leave the earlier runs in a truncated file.
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), doc);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        log("wrote " + file);
    }

    static ObjectNode machine() throws IOException {
        ObjectNode m = LINES.createObjectNode();
        m.put("nproc", Runtime.getRuntime().availableProcessors());
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                m.put("memTotal", line.substring(9).trim());
            }
        }
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("command", String.join(" ", ProcessHandle.current().info().arguments().map(List::of).orElse(List.of())));
        return m;
    }

    // ------------------------------------------------------------------ one run

    private ObjectNode runOnce(String server, int agents, int rep) throws Exception {
        long budget = TimeUnit.SECONDS.toNanos(args.integer("max-seconds", 1200));
        long deadline = System.nanoTime() + budget;
        String scenario = scenario();
        String tag = scenario + "-" + label(server) + "-" + agents + "-r" + rep;
        log("=== " + tag);
        Path data = work.resolve(tag);
        deleteTree(data);
        Files.createDirectories(data);
        Path logs = work.resolve("logs");
        if (es != null && server.equals("ours")) {
            es.wipeFleetIndices();
        }
        String xmx = args.get("xmx", "1g");
        List<String> jvm = new ArrayList<>(List.of(java(), "-Xmx" + xmx, "-XX:+UseG1GC", "-XX:NativeMemoryTracking=summary"));
        if (pki != null && args.get("tls-engine", "openssl").equals("jdk")) {
            jvm.add("-Dio.netty.handler.ssl.noOpenSsl=true");
        }
        String extra = args.get("server-jvm-args", "").trim();
        if (!extra.isEmpty()) {
            jvm.addAll(List.of(extra.split("\\s+")));
        }
        int k = serverCount(server);
        List<ServerProcess> srvs = new ArrayList<>();
        ObjectNode run = LINES.createObjectNode();
        current = run;
        run.put("rep", rep);
        for (int i = 0; i < k; i++) {
            int port = args.integer("port", 18220) + 2 * i;
            int mport = args.integer("management-port", 18221) + 2 * i;
            Path dir = k == 1 ? data : data.resolve("s" + i);
            Files.createDirectories(dir);
            List<String> cmd = new ArrayList<>(jvm);
            if (server.equals("ours")) {
                cmd.addAll(List.of("-jar", args.get("jar", "fleet-server-netty/target/fleet-server.jar")));
                StringBuilder yml = new StringBuilder();
                if (es != null) {
                    yml.append("output:\n  elasticsearch:\n    hosts: [\"").append(es.uri).append("\"]\n    service_token: \"")
                            .append(es.serviceToken).append("\"\n");
                }
                int enrollRate = args.integer("enroll-per-second", 0);
                int keyTtlSeconds = args.integer("api-key-ttl-seconds", 0);
                if (pki != null || enrollRate > 0 || keyTtlSeconds > 0) {
                    yml.append("inputs:\n  - type: fleet-server\n");
                    if (keyTtlSeconds > 0) {
                        // A third of it as jitter, as the default 15m/5m: re-checks of the cached keys within the run.
                        yml.append("    cache:\n      ttl_api_key: ").append(keyTtlSeconds).append("s\n      jitter_api_key: ")
                                .append(keyTtlSeconds / 3).append("s\n");
                    }
                    yml.append("    server:\n");
                    if (pki != null) {
                        yml.append("      ssl:\n        certificate: ").append(pki.certificate())
                                .append("\n        key: ").append(pki.key()).append("\n");
                    }
                    if (enrollRate > 0) {
                        // Parking 19 000 agents at the default 100 enrolls/s takes over 3 minutes per run.
                        yml.append("      limits:\n        enroll_limit:\n          interval: ")
                                .append(Math.max(1, 1_000_000 / enrollRate)).append("us\n          burst: ")
                                .append(enrollRate).append("\n");
                    }
                }
                if (scenario.equals("artifact-storm") || pki != null || es != null) {
                    // The metrics listener: the artifact store reads, the TLS handshakes and the requests made to
                    // Elasticsearch are read from it.
                    yml.append("http:\n  enabled: true\n  host: 127.0.0.1\n  port: ").append(metricsPort(i)).append("\n");
                }
                if (yml.length() > 0) {
                    Path file = dir.resolve("fleet-server.yml");
                    Files.writeString(file, yml.toString());
                    cmd.addAll(List.of("--config", file.toString()));
                }
            } else {
                cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Baseline.class.getName(),
                        "--max-seconds", Long.toString(TimeUnit.NANOSECONDS.toSeconds(budget) + 60)));
            }
            cmd.addAll(List.of("--data-dir", dir.toString(), "--host", "127.0.0.1", "--port", Integer.toString(port),
                    "--management-port", Integer.toString(mport)));
            String name = tag + (k == 1 ? "" : "-s" + i) + "-server";
            ServerProcess srv = new ServerProcess(name, cmd, logs.resolve(name + ".log"), port, mport, children);
            // One after the other: on a fresh cluster only the first creates the default policy.
            srv.start(deadline);
            srvs.add(srv);
        }
        run.put("serverCommand", String.join(" ", srvs.get(0).cmd));
        ServerProcess first = srvs.get(0);
        boolean probeMemory = k == 1 && (scenario.equals("park-fanout") || scenario.equals("artifact-storm"));
        ServerProbe probe = probeMemory ? ServerProbe.attach(first.pid()) : null;
        try {
            ServerProbe.Memory idle = null;
            if (probe != null) {
                idle = probe.measure();
                run.set("idle", memory(idle));
                log("idle " + idle);
            }
            int perGen = args.integer("per-generator", 10000);
            int g = (agents + perGen - 1) / perGen;
            Generators gens = new Generators(g);
            CpuMeter cpu = new CpuMeter();
            List<Long> pids = new ArrayList<>();
            srvs.forEach(s -> pids.add(s.pid()));
            if (es != null) {
                // Elasticsearch is part of the system under test, not other work: its CPU is not "foreign".
                ProcessHandle.of(es.child.pid()).ifPresent(h -> {
                    pids.add(h.pid());
                    h.descendants().forEach(d -> pids.add(d.pid()));
                });
            }
            cpu.start(pids);
            String targets = String.join(",", srvs.stream().map(s -> "127.0.0.1:" + s.port).toList());
            long parkStart = System.nanoTime();
            boolean seed = es != null && server.equals("ours") && Boolean.parseBoolean(args.get("seed-es", "false"));
            if (seed) {
                long t = System.nanoTime();
                es.seed(agents, g, data);
                run.put("seedSeconds", (System.nanoTime() - t) / 1e9);
                log("seeded " + agents + " agents in " + run.get("seedSeconds") + " s");
                cpu.start(pids);
                parkStart = System.nanoTime();
            }
            for (int i = 0; i < g; i++) {
                int share = agents / g + (i < agents % g ? 1 : 0);
                List<String> gc = new ArrayList<>(List.of(java(), "-Xmx" + args.get("generator-xmx", "1g"), "-cp",
                        System.getProperty("java.class.path"), LoadGenerator.class.getName(),
                        "--targets", targets, "--token", first.enrollToken, "--agents", Integer.toString(share),
                        "--id", Integer.toString(i), "--sources", "127.0." + (i + 1) + ".1-127.0." + (i + 1) + ".8",
                        "--enroll-concurrency", args.get("enroll-concurrency", "400"),
                        "--apply-millis", args.get("apply-millis", "1000"),
                        "--max-seconds", Long.toString(left(deadline) / 1000)));
                if (scenario.equals("enroll")) {
                    gc.addAll(List.of("--enroll-only", "true"));
                }
                if (pki != null) {
                    gc.addAll(List.of("--tls-ca", pki.ca().toString(), "--tls-resume", args.get("tls-resume", "true")));
                }
                gc.addAll(List.of("--gzip", Boolean.toString(gzip())));
                if (seed) {
                    gc.addAll(List.of("--credentials", data.resolve("credentials-g" + i + ".txt").toString()));
                }
                int id = i;
                Child c = new Child(tag + "-gen" + i, gc, logs.resolve(tag + "-gen" + i + ".log"), l -> gens.onLine(id, l));
                children.add(c);
                gens.children.add(c);
                pids.add(c.pid());
            }
            if (scenario.equals("enroll")) {
                gens.awaitDone(deadline);
                run.set("enrollCpu", cores(cpu.stop(pids)));
                run.set("generators", gens.summary());
                ObjectNode w = run.putObject("enrollWindow");
                windows(gens.done.values(), "enrollWindow", w);
                log("enroll " + w);
                srvs.forEach(s -> s.child.close(0));
                return run;
            }
            long settle = TimeUnit.SECONDS.toNanos(args.integer("settle-seconds", 3));
            long allParked = gens.awaitParked(agents, settle, deadline, parkStart);
            run.put("parkSeconds", (allParked - parkStart) / 1e9);
            log("all " + agents + " parked after " + run.get("parkSeconds") + " s");
            run.set("parkCpu", cores(cpu.stop(pids)));
            run.put("serverBusyAfterParkSeconds", idle(srvs));
            if (pki != null) {
                run.set("tls", tlsStats(srvs.size()));
            }
            if (probe != null) {
                ServerProbe.Memory at = probe.measure();
                parkedHeapBytes = at.heap();
                heapSampler = new HeapSampler(first.pid(), 50, data.resolve("jstat.log"));
                run.set("parked", memory(at));
                ObjectNode per = run.putObject("perConnection");
                per.put("heapBytes", (at.heap() - idle.heap()) / (double) agents);
                per.put("directBytes", (at.direct() - idle.direct()) / (double) agents);
                per.put("jvmBytes", (at.jvm() - idle.jvm()) / (double) agents);
                per.put("rssBytes", (at.rss() - idle.rss()) / (double) agents);
                per.put("nmtBytes", (at.nmtCommitted() - idle.nmtCommitted()) / (double) agents);
                // Everything the process holds per connection, native memory of the TLS engine included.
                per.put("residentBytes", (at.resident() - idle.resident()) / (double) agents);
                per.put("nonHeapRssBytes", (at.nonHeapRss() - idle.nonHeapRss()) / (double) agents);
                per.put("jvmAbsoluteBytes", at.jvm() / (double) agents);
                log("parked " + at + " per connection " + per);
                ArrayNode hist = run.putArray("classHistogram");
                probe.classHistogram(45).forEach(hist::add);
            }

            if (scenario.equals("steady")) {
                run.set("steady", steady(srvs, agents));
            }
            if (scenario.equals("console")) {
                run.set("console", console(first, agents));
            } else if (scenario.equals("storm")) {
                run.set("storms", storms(srvs, gens, agents, pids, cpu, deadline));
            } else {
                List<String> ids = scenario.equals("action-fanout") ? gens.ids(deadline) : List.of();
                ArrayNode fanouts = run.putArray("fanouts");
                int warmups = args.integer("warmup-fanouts", 1);
                int count = warmups + args.integer("fanouts", 3);
                long fanoutTimeout = TimeUnit.SECONDS.toMillis(args.integer("fanout-timeout-seconds", 60));
                for (int f = 0; f < count; f++) {
                    if (f > 0) {
                        gens.awaitParked(agents, TimeUnit.SECONDS.toNanos(2), deadline, 0);
                    }
                    double busy = idle(srvs);
                    List<Long> serverPids = srvs.stream().map(ServerProcess::pid).toList();
                    // The servers' background work with every agent parked (heartbeat writes, change feeds), so
                    // that the CPU the answers cost can be told from it.
                    long backgroundTicks = CpuMeter.ticks(serverPids);
                    long backgroundStart = System.nanoTime();
                    Thread.sleep(5_000);
                    fanoutBackgroundMillisPerSecond = (CpuMeter.ticks(serverPids) - backgroundTicks) * 10.0
                            / ((System.nanoTime() - backgroundStart) / 1e9);
                    long serverTicks = CpuMeter.ticks(serverPids);
                    fanoutServerPids = serverPids;
                    fanoutServerTicks = serverTicks;
                    fanoutServerNanos = System.nanoTime();
                    cpu.start(pids);
                    first.wokeLines.clear();
                    gens.window(deadline);
                    ObjectNode esBefore = es == null ? null : esWork(srvs.size());
                    ObjectNode fo = scenario.equals("action-fanout")
                            ? actionFanout(gens, first, ids, f, fanoutTimeout, deadline)
                            : scenario.equals("artifact-storm")
                            ? artifactStorm(gens, first, probe, f, fanoutTimeout, deadline)
                            : fanout(gens, first.mport, first.managementToken, f, fanoutTimeout, deadline);
                    woke(fo, first.wokeLines);
                    fo.put("warmup", f < warmups);
                    fo.put("serverBusyBeforeSeconds", busy);
                    // The acks of this fan-out: wait until the agents are parked again, then read the ack window.
                    gens.awaitParked(agents, TimeUnit.SECONDS.toNanos(1), deadline, 0);
                    fo.set("cpu", cores(cpu.stop(pids)));
                    // The servers' CPU for the whole cycle of each agent: its answer, its ack, its checkin parked again.
                    double serverCpuMillis = (CpuMeter.ticks(serverPids) - serverTicks) * 10.0;
                    fo.put("serverCpuMillis", serverCpuMillis);
                    fo.put("serverCpuMicrosPerAgent", serverCpuMillis * 1000 / Math.max(1, fo.path("received").asLong()));
                    if (esBefore != null) {
                        // What the whole cycle (answers, acks, checkins parked again) cost Elasticsearch.
                        fo.set("elasticsearch", perThousand(delta(esBefore, esWork(srvs.size())), agents, 1));
                    }
                    ObjectNode acks = fo.putObject("acks");
                    windows(gens.window(deadline), "acks", acks);
                    log("  acks " + acks);
                    fanouts.add(fo);
                }
            }
            gens.stopAll();
            run.set("generators", gens.summary());
        } finally {
            if (heapSampler != null) {
                heapSampler.close();
                heapSampler = null;
            }
            if (probe != null) {
                probe.close();
            }
        }
        srvs.forEach(s -> s.child.close(0));
        return run;
    }

    /** Waits (at most 180 s) until the servers use under --idle-below-cores (default 0.3); returns the seconds waited. */
    private double idle(List<ServerProcess> srvs) throws InterruptedException {
        double waited = CpuMeter.awaitIdle(srvs.stream().map(ServerProcess::pid).toList(),
                Double.parseDouble(args.get("idle-below-cores", "0.3")), 180);
        if (waited > 3) {
            log("  servers busy for " + String.format(java.util.Locale.ROOT, "%.1f", waited) + " s after the agents parked");
        }
        return waited;
    }

    /** Merges the generators' windows {@code prefix}: count, span from the first sent to the last answered, rate. */
    static void windows(java.util.Collection<JsonNode> events, String prefix, ObjectNode into) {
        long count = 0;
        long requests = 0;
        long firstSent = Long.MAX_VALUE;
        long lastDone = Long.MIN_VALUE;
        for (JsonNode e : events) {
            count += e.path(prefix).asLong();
            requests += e.path(prefix + "Requests").asLong();
            if (e.has(prefix + "FirstSentNanos")) {
                firstSent = Math.min(firstSent, e.path(prefix + "FirstSentNanos").asLong());
                lastDone = Math.max(lastDone, e.path(prefix + "LastDoneNanos").asLong());
            }
        }
        into.put("count", count);
        into.put("requests", requests);
        if (requests > 0) {
            double seconds = (lastDone - firstSent) / 1e9;
            into.put("seconds", seconds);
            into.put("perSecond", count / seconds);
            into.put("requestsPerSecond", requests / seconds);
        }
    }

    /**
     * Reconnect storms: {@code --storms} times, stop every server ({@code --storm-signal term}: SIGTERM, the
     * graceful path; {@code kill}: SIGKILL), start it again on the same data dir and ports, and time until every
     * agent has a parked checkin again (held for {@code --settle-seconds}); the generators' error counters are
     * differenced over the storm.
     */
    private ArrayNode storms(List<ServerProcess> srvs, Generators gens, int agents, List<Long> pids, CpuMeter cpu, long deadline)
            throws Exception {
        ArrayNode out = LINES.createArrayNode();
        boolean kill = args.get("storm-signal", "term").equals("kill");
        long settle = TimeUnit.SECONDS.toNanos(args.integer("settle-seconds", 3));
        for (int s = 0; s < args.integer("storms", 2); s++) {
            gens.awaitParked(agents, TimeUnit.SECONDS.toNanos(2), deadline, 0);
            double busy = idle(srvs);
            ObjectNode before = gens.counters();
            ObjectNode st = LINES.createObjectNode();
            st.put("signal", kill ? "SIGKILL" : "SIGTERM");
            st.put("serverBusyBeforeSeconds", busy);
            List<Long> genPids = new ArrayList<>(pids.subList(srvs.size(), pids.size()));
            List<Long> meterPids = new ArrayList<>(genPids);
            srvs.forEach(x -> meterPids.add(x.pid()));
            long t0 = System.nanoTime();
            for (ServerProcess x : srvs) {
                ProcessHandle h = ProcessHandle.of(x.pid()).orElseThrow();
                if (kill) {
                    h.destroyForcibly();
                } else {
                    h.destroy();
                }
            }
            for (ServerProcess x : srvs) {
                ProcessHandle.of(x.pid()).ifPresent(h -> h.onExit().orTimeout(60, TimeUnit.SECONDS).join());
                x.child.close(0);
                children.remove(x.child);
            }
            long exited = System.nanoTime();
            // Measured from here: a process that has exited can no longer be charged its CPU time.
            meterPids.clear();
            meterPids.addAll(genPids);
            cpu.start(meterPids);
            for (ServerProcess x : srvs) {
                x.start(deadline);
                meterPids.add(x.pid());
            }
            long ready = System.nanoTime();
            long all = gens.awaitParked(agents, settle, deadline, ready);
            st.set("cpu", cores(cpu.stop(meterPids)));
            pids.clear();
            srvs.forEach(x -> pids.add(x.pid()));
            pids.addAll(genPids);
            st.put("stopMillis", (exited - t0) / 1e6);
            st.put("restartMillis", (ready - exited) / 1e6);
            st.put("allParkedAfterReadyMillis", (all - ready) / 1e6);
            st.put("allParkedAfterStopMillis", (all - t0) / 1e6);
            if (pki != null) {
                ObjectNode handshakes = tlsStats(srvs.size());
                handshakes.put("perSecondUntilAllParked",
                        handshakes.path("handshakes").asLong() / Math.max(1e-3, (all - ready) / 1e9));
                st.set("tls", handshakes);
            }
            ObjectNode after = gens.counters();
            ObjectNode delta = st.putObject("errors");
            after.fields().forEachRemaining(f -> {
                long d = f.getValue().asLong() - before.path(f.getKey()).asLong();
                if (d != 0) {
                    delta.put(f.getKey(), d);
                }
            });
            st.set("lastErrors", gens.lastErrors());
            log("storm " + st);
            out.add(st);
        }
        return out;
    }

    /**
     * An action for all agents: one {@code POST /api/fleet/agents/bulk_upgrade} naming every agent (one action id;
     * the server splits it into documents of 1 000 agents as Kibana does), timed from just before the POST to each
     * agent's receipt of it.
     */
    private ObjectNode actionFanout(Generators gens, ServerProcess srv, List<String> ids, int f, long timeoutMillis, long deadline)
            throws Exception {
        ObjectNode body = LINES.createObjectNode();
        ArrayNode arr = body.putArray("agents");
        ids.forEach(arr::add);
        body.put("version", "9.6." + (f + 1));
        HttpRequest post = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + srv.mport + "/api/fleet/agents/bulk_upgrade"))
                .header("Authorization", "Bearer " + srv.managementToken).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        gens.fanouts.clear();
        long wall0 = System.currentTimeMillis();
        long t0 = System.nanoTime();
        HttpResponse<String> res = http.send(post, HttpResponse.BodyHandlers.ofString());
        long t1 = System.nanoTime();
        if (res.statusCode() != 200) {
            throw new IllegalStateException("bulk_upgrade answered " + res.statusCode() + ": " + res.body());
        }
        String actionId = LINES.readTree(res.body()).path("actionId").asText();
        for (Child c : gens.children) {
            c.send("afanout " + actionId + " " + t0 + " " + timeoutMillis);
        }
        ObjectNode r = collect(gens, e -> actionId.equals(e.path("actionId").asText()), timeoutMillis, deadline);
        r.put("actionId", actionId);
        r.put("targeted", ids.size());
        r.put("putStartEpochMillis", wall0);
        r.put("putMillis", (t1 - t0) / 1e6);
        log("action fanout " + r.deepCopy().without("histogram"));
        return r;
    }

    /** Port of server {@code i}'s metrics listener (artifact storm). */
    private int metricsPort(int i) {
        return args.integer("port", 18220) + 40 + i;
    }

    /**
     * Artifact storm: a new Elastic Defend artifact ({@code --artifact-bytes}, default 2 MiB, random so that zlib
     * keeps its size) is stored through the management API, then the {@code default} policy is updated to list it;
     * every parked agent gets the policy and fetches the artifact before it acks, as Defend does. Timed from just
     * before the policy update to each agent's receipt of the whole artifact; reports the server's artifact store
     * reads over the storm (its metrics) and its heap: the peak while agents fetch (sampled every 50 ms, garbage
     * included) and what stays after a collection.
     */
    private ObjectNode artifactStorm(Generators gens, ServerProcess srv, ServerProbe probe, int f, long timeoutMillis,
                                     long deadline) throws Exception {
        int size = args.integer("artifact-bytes", 2 << 20);
        byte[] decoded = new byte[size];
        new java.util.Random(1000 + f).nextBytes(decoded);
        java.io.ByteArrayOutputStream zout = new java.io.ByteArrayOutputStream(size + 1024);
        try (var z = new java.util.zip.DeflaterOutputStream(zout)) {
            z.write(decoded);
        }
        byte[] encoded = zout.toByteArray();
        String identifier = "endpoint-exceptionlist-windows-v1";
        String sha = sha256(decoded);
        ObjectNode artifact = LINES.createObjectNode();
        artifact.put("identifier", identifier);
        artifact.put("compression_algorithm", "zlib");
        artifact.put("encryption_algorithm", "none");
        artifact.put("encoded_sha256", sha256(encoded));
        artifact.put("encoded_size", encoded.length);
        artifact.put("decoded_sha256", sha);
        artifact.put("decoded_size", decoded.length);
        artifact.put("body", java.util.Base64.getEncoder().encodeToString(encoded));
        managementCall(srv, "PUT", "/api/fleet/artifacts/" + identifier, artifact.toString());
        ObjectNode entry = artifact.deepCopy();
        entry.remove(List.of("identifier", "body"));
        entry.put("relative_url", "/api/fleet/artifacts/" + identifier + "/" + sha);
        ObjectNode policy = LINES.createObjectNode();
        policy.putArray("inputs").addObject().put("id", "endpoint-bench").put("type", "endpoint")
                .putObject("artifact_manifest").put("manifest_version", "1." + f).put("schema_version", "v1")
                .putObject("artifacts").set(identifier, entry);
        long readsBefore = artifactStoreReads(srv);

        startHeapWindow();
        gens.fanouts.clear();
        long wall0 = System.currentTimeMillis();
        long t0 = System.nanoTime();
        managementCall(srv, "PUT", "/api/fleet/agent_policies/default", policy.toString());
        long t1 = System.nanoTime();
        for (Child c : gens.children) {
            c.send("artfanout " + sha + " " + t0 + " " + timeoutMillis);
        }
        ObjectNode r = collect(gens, e -> sha.equals(e.path("artifact").asText()), timeoutMillis, deadline);
        long peak = heapWindowPeak();
        r.put("artifactBytes", encoded.length);
        r.put("storeReads", artifactStoreReads(srv) - readsBefore);
        r.put("putStartEpochMillis", wall0);
        r.put("putMillis", (t1 - t0) / 1e6);
        if (probe != null) {
            r.put("peakHeapBytes", peak);
            r.put("heapAfterGcBytes", probe.measure().heap());
        }
        log("artifact storm " + r.deepCopy().without("histogram"));
        return r;
    }

    private void managementCall(ServerProcess srv, String method, String path, String body) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + srv.mport + path))
                .header("Authorization", "Bearer " + srv.managementToken).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new IllegalStateException(method + " " + path + " answered " + res.statusCode() + ": " + res.body());
        }
    }

    /**
     * What an open browser console costs the server with every agent parked: each management call a console view
     * makes, timed and its server CPU counted, {@code --console-rounds} times (default 5), 2.1 s apart so that the
     * summary is read afresh each time (callers within 2 s share one); medians per call.
     */
    private ObjectNode console(ServerProcess srv, int agents) throws Exception {
        int lastPage = Math.max(1, (agents + 49) / 50);
        Map<String, String> calls = new java.util.LinkedHashMap<>();
        calls.put("summary (overview, policies)", "/api/fleet/agents/summary");
        calls.put("agents, first page", "/api/fleet/agents?page=1&perPage=50");
        calls.put("agents, last page", "/api/fleet/agents?page=" + lastPage + "&perPage=50");
        calls.put("agents, KQL status:online", "/api/fleet/agents?page=1&perPage=50&kuery=status%3Aonline");
        calls.put("agents, KQL one host name", "/api/fleet/agents?page=1&perPage=50&kuery="
                + URLEncoder.encode("local_metadata.host.hostname:\"" + someHostName(srv) + "\"", StandardCharsets.UTF_8));
        calls.put("agent_status", "/api/fleet/agent_status");
        calls.put("rollout of the agents' policy", "/api/fleet/agent_policies/default/rollout");
        calls.put("policies", "/api/fleet/agent_policies");
        Map<String, List<double[]>> measured = new java.util.LinkedHashMap<>();
        calls.keySet().forEach(k -> measured.put(k, new ArrayList<>()));
        int rounds = args.integer("console-rounds", 5);
        for (int r = 0; r < rounds; r++) {
            Thread.sleep(2_100);
            for (Map.Entry<String, String> call : calls.entrySet()) {
                long ticks = CpuMeter.ticks(srv.pid());
                long start = System.nanoTime();
                HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + srv.mport + call.getValue()))
                        .header("Authorization", "Bearer " + srv.managementToken).timeout(Duration.ofSeconds(120)).GET().build();
                HttpResponse<byte[]> res = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
                double millis = (System.nanoTime() - start) / 1e6;
                double cpuMillis = (CpuMeter.ticks(srv.pid()) - ticks) * 10.0;
                if (res.statusCode() != 200) {
                    throw new IllegalStateException(call.getValue() + " answered " + res.statusCode());
                }
                measured.get(call.getKey()).add(new double[] {millis, cpuMillis, res.body().length});
            }
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("agents", agents);
        out.put("rounds", rounds);
        ObjectNode per = out.putObject("calls");
        measured.forEach((name, xs) -> {
            ObjectNode n = per.putObject(name);
            n.put("path", calls.get(name));
            n.put("medianMillis", medianOf(xs, 0));
            n.put("maxMillis", xs.stream().mapToDouble(x -> x[0]).max().orElse(0));
            n.put("medianServerCpuMillis", medianOf(xs, 1));
            n.put("answerBytes", medianOf(xs, 2));
        });
        log("console " + out);
        return out;
    }

    /** The host name of one enrolled agent, for a search a user types to find one machine. */
    private String someHostName(ServerProcess srv) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + srv.mport + "/api/fleet/agents?perPage=1"))
                .header("Authorization", "Bearer " + srv.managementToken).timeout(Duration.ofSeconds(120)).GET().build();
        String name = JSON.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body())
                .at("/items/0/local_metadata/host/hostname").asText("");
        if (name.isEmpty()) {
            throw new IllegalStateException("no agent with a host name to search for");
        }
        return name;
    }

    private static double medianOf(List<double[]> xs, int i) {
        double[] v = xs.stream().mapToDouble(x -> x[i]).sorted().toArray();
        return v.length == 0 ? 0 : v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** {@code fleet_artifacts_store_reads_total} of the first server's metrics. */
    private long artifactStoreReads(ServerProcess srv) throws Exception {
        return counter(0, "fleet_artifacts_store_reads_total");
    }

    /** A counter of server {@code i}'s Prometheus metrics. */
    private long counter(int i, String name) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort(i) + "/metrics"))
                .timeout(Duration.ofSeconds(30)).GET().build();
        for (String line : http.send(req, HttpResponse.BodyHandlers.ofString()).body().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new IllegalStateException("no " + name + " in the server's metrics");
    }

    /**
     * Steady state on Elasticsearch: every agent parked, nothing changing. Over {@code --steady-seconds} (default
     * 330: a whole 5-minute long poll with its jitter, so every agent's poll ends and is sent again once), the work
     * the servers cause: their requests to Elasticsearch by API, and the documents indexed, searches and gets on the
     * Fleet indices, each per 1 000 agents per hour.
     */
    private ObjectNode steady(List<ServerProcess> srvs, int agents) throws Exception {
        ObjectNode o = LINES.createObjectNode();
        o.put("serverBusyBeforeSeconds", idle(srvs));
        int seconds = args.integer("steady-seconds", 330);
        ObjectNode before = esWork(srvs.size());
        Thread.sleep(seconds * 1000L);
        ObjectNode d = delta(before, esWork(srvs.size()));
        o.put("seconds", seconds);
        o.set("total", d);
        o.set("perThousandAgentsPerHour", perThousand(d, agents, 3600.0 / seconds));
        log("steady " + o);
        return o;
    }

    /** {@link EsCluster#fleetWork()} and the servers' own count of requests to Elasticsearch, by API and in all. */
    private ObjectNode esWork(int servers) throws Exception {
        ObjectNode o = es.fleetWork();
        long all = 0;
        for (int i = 0; i < servers; i++) {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort(i) + "/metrics"))
                    .timeout(Duration.ofSeconds(30)).GET().build();
            for (String line : http.send(req, HttpResponse.BodyHandlers.ofString()).body().split("\n")) {
                if (line.startsWith("fleet_elasticsearch_requests_seconds_count{")) {
                    long n = (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    int a = line.indexOf("api=\"");
                    String api = a < 0 ? "other" : line.substring(a + 5, line.indexOf('"', a + 5));
                    o.put("requests." + api, o.path("requests." + api).asLong() + n);
                    all += n;
                }
            }
        }
        o.put("requests", all);
        return o;
    }

    private static ObjectNode delta(ObjectNode before, ObjectNode after) {
        ObjectNode d = LINES.createObjectNode();
        after.fields().forEachRemaining(f -> d.put(f.getKey(), f.getValue().asLong() - before.path(f.getKey()).asLong()));
        return d;
    }

    /** Each figure per 1 000 agents, times {@code scale} (3600 / seconds for per hour, 1 for per event). */
    private static ObjectNode perThousand(ObjectNode d, int agents, double scale) {
        ObjectNode o = LINES.createObjectNode();
        d.fields().forEachRemaining(f -> o.put(f.getKey(), f.getValue().asLong() * 1000.0 / agents * scale));
        return o;
    }

    /** The servers' TLS handshakes since they started, summed: completed, resumed from a ticket, failed. */
    private ObjectNode tlsStats(int servers) throws Exception {
        long handshakes = 0;
        long resumed = 0;
        long failed = 0;
        for (int i = 0; i < servers; i++) {
            handshakes += counter(i, "fleet_tls_handshakes_total");
            resumed += counter(i, "fleet_tls_handshakes_resumed_total");
            failed += counter(i, "fleet_tls_handshakes_failed_total");
        }
        ObjectNode o = LINES.createObjectNode();
        o.put("handshakes", handshakes).put("resumed", resumed).put("failed", failed);
        return o;
    }

    private static String sha256(byte[] data) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
    }

    /**
     * Inputs of about {@code kb} KiB, shaped like those of real integrations (system, nginx, …): inputs with several
     * streams each, their paths, processors and conditions, varied enough that gzip gets the ratio it gets on real
     * policies (~10:1), not the 100:1 of a repeated string. The same for every fan-out, so that only the logging level
     * changes between revisions.
     */
    static ArrayNode policyInputs(int kb) {
        ArrayNode inputs = LINES.createArrayNode();
        java.util.Random random = new java.util.Random(42);
        String[] kinds = {"logfile", "system/metrics", "nginx/metrics", "winlog", "filestream", "httpjson"};
        for (int i = 0; inputs.toString().length() < kb * 1024; i++) {
            String kind = kinds[i % kinds.length];
            ObjectNode input = inputs.addObject();
            input.put("id", kind.replace('/', '-') + "-integration-" + java.util.UUID.nameUUIDFromBytes(new byte[] {(byte) i, 1}));
            input.put("name", kind + "-" + i);
            input.put("revision", 1 + i % 3);
            input.put("type", kind);
            input.put("use_output", "default");
            input.putObject("meta").putObject("package").put("name", kind.split("/")[0]).put("version", "1." + i % 20 + ".0");
            input.putObject("data_stream").put("namespace", "default");
            input.put("package_policy_id", java.util.UUID.nameUUIDFromBytes(new byte[] {(byte) i, 2}).toString());
            ArrayNode streams = input.putArray("streams");
            for (int s = 0; s < 4; s++) {
                ObjectNode stream = streams.addObject();
                stream.put("id", kind + "-" + kind.split("/")[0] + "." + s + "-" + Long.toHexString(random.nextLong()));
                stream.putObject("data_stream").put("dataset", kind.split("/")[0] + ".stream_" + s).put("type", "logs");
                stream.putArray("paths").add("/var/log/" + kind.split("/")[0] + "/" + Integer.toHexString(random.nextInt()) + "/*.log");
                stream.put("exclude_files", "[\".gz$\"]");
                stream.put("scan_frequency", (5 + random.nextInt(55)) + "s");
                stream.put("condition", "${host.platform} == '" + (random.nextBoolean() ? "linux" : "windows") + "'");
                ArrayNode processors = stream.putArray("processors");
                processors.addObject().putObject("add_locale").put("format", "offset");
                processors.addObject().putObject("add_fields").put("target", "")
                        .putObject("fields").put("ecs.version", "8.0.0").put("tag", Long.toString(random.nextLong(), 36));
            }
        }
        return inputs;
    }

    /** The servers of the fan-out being measured, and their CPU ticks when it began. */
    private List<Long> fanoutServerPids = List.of();
    private long fanoutServerTicks;
    private long fanoutServerNanos;
    private double fanoutBackgroundMillisPerSecond;
    /** The server's live heap with every agent parked (after two collections), when probed. */
    private long parkedHeapBytes;
    /**
     * The server's heap sampled every 50 ms from outside ({@code jstat}: no work for the server, unlike a JMX call)
     * from the end of parking on, when probed; null otherwise.
     */
    private HeapSampler heapSampler;

    private ObjectNode fanout(Generators gens, int mport, String token, int f, long timeoutMillis, long deadline)
            throws Exception {
        String level = f % 2 == 0 ? "debug" : "info";
        ObjectNode update = LINES.createObjectNode();
        update.putObject("agent").putObject("logging").put("level", level);
        int policyKb = args.integer("policy-kb", 0);
        if (policyKb > 0) {
            update.set("inputs", policyInputs(policyKb));
        }
        HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mport + "/api/fleet/agent_policies/default"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .PUT(HttpRequest.BodyPublishers.ofString(update.toString())).build();
        gens.fanouts.clear();
        startHeapWindow();
        long wall0 = System.currentTimeMillis();
        long t0 = System.nanoTime();
        HttpResponse<String> res = http.send(put, HttpResponse.BodyHandlers.ofString());
        long t1 = System.nanoTime();
        if (res.statusCode() != 200) {
            throw new IllegalStateException("policy update answered " + res.statusCode() + ": " + res.body());
        }
        long revision = LINES.readTree(res.body()).path("item").path("revision").asLong();
        for (Child c : gens.children) {
            c.send("fanout " + revision + " " + t0 + " " + timeoutMillis);
        }
        ObjectNode r = collect(gens, e -> e.path("revision").asLong() == revision, timeoutMillis, deadline);
        long peak = heapWindowPeak();
        if (peak >= 0) {
            // Heap in use at its highest until the last answer (garbage included), against the live heap with every
            // agent parked.
            r.put("peakHeapBytes", peak);
            r.put("peakHeapAboveParkedBytes", peak - parkedHeapBytes);
        }
        // The servers' CPU from the update until every agent had its answer (acks too, unless --apply-millis holds
        // them back past that moment).
        double toLast = (CpuMeter.ticks(fanoutServerPids) - fanoutServerTicks) * 10.0;
        double windowSeconds = (System.nanoTime() - fanoutServerNanos) / 1e9;
        r.put("serverCpuMillisToLastAnswer", toLast);
        r.put("serverCpuWindowSeconds", windowSeconds);
        r.put("serverBackgroundCpuMillisPerSecond", fanoutBackgroundMillisPerSecond);
        // Less what the servers spend anyway over a window that long: the answers' own cost.
        double net = toLast - fanoutBackgroundMillisPerSecond * windowSeconds;
        r.put("serverCpuMillisToLastAnswerNet", net);
        r.put("serverCpuMicrosPerAnswerNet", net * 1000 / Math.max(1, r.path("received").asLong()));
        r.put("revision", revision);
        r.put("putStartEpochMillis", wall0);
        r.put("putMillis", (t1 - t0) / 1e6);
        log("fanout " + r.deepCopy().without("histogram"));
        return r;
    }

    /** Starts a window of the heap sampler, once it has sampled at least once (bounded wait). */
    private void startHeapWindow() throws InterruptedException {
        if (heapSampler == null) {
            return;
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (heapSampler.samples() == 0 && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        heapSampler.takeWindow();
    }

    /** The highest heap use sampled since {@link #startHeapWindow}, bytes; -1 without a sampler. */
    private long heapWindowPeak() {
        return heapSampler == null ? -1 : heapSampler.takeWindow().used();
    }

    /** Merges the generators' fan-out reports that {@code mine} accepts (one per generator, bounded wait). */
    private static ObjectNode collect(Generators gens, java.util.function.Predicate<JsonNode> mine, long timeoutMillis,
                                      long deadline) throws InterruptedException {
        Histogram merged = new Histogram(TimeUnit.HOURS.toMicros(1), 3);
        long received = 0;
        long early = 0;
        int reports = 0;
        long until = Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis + 10_000));
        while (reports < gens.children.size()) {
            JsonNode e = gens.fanouts.poll(Math.max(1, (until - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            if (e == null) {
                break;
            }
            if (!mine.test(e)) {
                continue;
            }
            reports++;
            received += e.path("received").asLong();
            early += e.path("early").asLong();
            merged.add(Histograms.decode(e.path("histogram").asText()));
        }
        ObjectNode r = LINES.createObjectNode();
        r.put("received", received);
        r.put("early", early);
        r.put("reports", reports);
        r.put("p50Millis", merged.getValueAtPercentile(50) / 1000.0);
        r.put("p99Millis", merged.getValueAtPercentile(99) / 1000.0);
        r.put("maxMillis", merged.getMaxValue() / 1000.0);
        r.put("histogram", Histograms.encode(merged));
        return r;
    }

    private static final java.util.regex.Pattern WOKE = java.util.regex.Pattern.compile(
            "^(\\S+) .*revision (\\d+): woke (\\d+) parked checkins");

    /**
     * Our server logs {@code policy P revision R: woke K parked checkins} once it has handed every wake-up to the
     * event loops: records K and when that was, from the PUT's start (log times are wall-clock milliseconds).
     */
    private static void woke(ObjectNode fanout, BlockingQueue<String> lines) throws InterruptedException {
        String line;
        while ((line = lines.poll(2, TimeUnit.SECONDS)) != null) {
            java.util.regex.Matcher m = WOKE.matcher(line.startsWith("[err] ") ? line.substring(6) : line);
            if (m.find() && Long.parseLong(m.group(2)) == fanout.path("revision").asLong()) {
                fanout.put("serverWoke", Long.parseLong(m.group(3)));
                try {
                    long at = java.time.Instant.parse(m.group(1)).toEpochMilli();
                    fanout.put("serverWakeDoneMillis", at - fanout.path("putStartEpochMillis").asLong());
                } catch (java.time.format.DateTimeParseException e) {
                    // Another log format: keep the count only.
                }
                return;
            }
        }
    }

    private static ObjectNode cores(double[] c) {
        ObjectNode o = LINES.createObjectNode();
        o.put("machineCores", c[0]);
        o.put("foreignCores", c[1]);
        return o;
    }

    private static ObjectNode memory(ServerProbe.Memory m) {
        ObjectNode o = LINES.createObjectNode();
        o.put("heapBytes", m.heap());
        o.put("directBytes", m.direct());
        o.put("rssBytes", m.rss());
        o.put("nmtCommittedBytes", m.nmtCommitted());
        o.put("nmtHeapCommittedBytes", m.nmtHeapCommitted());
        o.put("nonHeapRssBytes", m.nonHeapRss());
        o.put("residentBytes", m.resident());
        o.put("threads", m.threads());
        return o;
    }

    // ------------------------------------------------------------------ helpers

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static long left(long deadline) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }

    static void log(String msg) {
        System.out.println("[bench " + java.time.LocalTime.now().withNano(0) + "] " + msg);
        System.out.flush();
    }
}
