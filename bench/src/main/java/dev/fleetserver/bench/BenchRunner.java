package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
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
                [--server-jvm-args "-XX:StartFlightRecording=filename=/tmp/s.jfr,settings=profile"]
                [--quiet-below-cores 0.5 --quiet-wait-seconds 0]   (wait, bounded, for other load to calm down)
                [--noisy-above-cores 0.5 --noisy-retries 1]  (a run during which other processes used more CPU
                                                              is marked noisy and run again)""";
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper LINES = new ObjectMapper();

    private final Args args;
    private final Path out;
    private final Path work;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Child> children = new CopyOnWriteArrayList<>();

    private BenchRunner(Args args) {
        this.args = args;
        this.out = Path.of(args.get("out", "bench/results"));
        this.work = Path.of(args.get("work-dir", "/tmp/fleet-bench"));
    }

    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv, USAGE, List.of("server", "agents", "reps", "fanouts", "jar", "xmx", "generator-xmx",
                "per-generator", "enroll-concurrency", "out", "work-dir", "max-seconds", "settle-seconds",
                "fanout-timeout-seconds", "port", "management-port", "warmup-fanouts", "quiet-below-cores",
                "quiet-wait-seconds", "apply-millis", "noisy-above-cores", "noisy-retries", "server-jvm-args"));
        BenchRunner r = new BenchRunner(a);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> r.children.forEach(Child::close), "bench-cleanup"));
        r.runAll();
        System.exit(0);
    }

    private void runAll() throws Exception {
        String which = args.get("server", "both");
        List<String> servers = which.equals("both") ? List.of("ours", "baseline") : List.of(which);
        int reps = args.integer("reps", 3);
        Files.createDirectories(out);
        ObjectNode machine = machine();
        for (String n : args.get("agents", "1000,5000,10000,19000").split(",")) {
            int agents = Integer.parseInt(n.trim());
            for (int rep = 1; rep <= reps; rep++) {
                for (String server : servers) {
                    int retries = args.integer("noisy-retries", 1);
                    for (int attempt = 0; attempt <= retries; attempt++) {
                        ObjectNode run;
                        try {
                            double before = awaitQuiet();
                            run = runOnce(server, agents, rep);
                            run.put("machineBusyCoresBefore", before);
                        } catch (Exception e) {
                            run = LINES.createObjectNode();
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
        Report.main(new String[] {"--out", out.toString()});
    }

    /** Whether other processes used more than --noisy-above-cores while parking or during a measured fan-out. */
    private boolean noisy(JsonNode run) {
        double limit = Double.parseDouble(args.get("noisy-above-cores", "0.5"));
        boolean noisy = run.path("parkCpu").path("foreignCores").asDouble() > limit;
        for (JsonNode f : run.path("fanouts")) {
            noisy |= !f.path("warmup").asBoolean() && f.path("cpu").path("foreignCores").asDouble() > limit;
        }
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
        Path file = out.resolve("park-fanout-" + server + "-" + agents + ".json");
        ObjectNode doc;
        if (Files.exists(file)) {
            doc = (ObjectNode) JSON.readTree(file.toFile());
        } else {
            doc = JSON.createObjectNode();
            doc.put("scenario", "park-fanout");
            doc.put("server", server);
            doc.put("agents", agents);
            doc.set("machine", machine);
            doc.putArray("runs");
        }
        ((ArrayNode) doc.get("runs")).add(run);
        JSON.writeValue(file.toFile(), doc);
        log("wrote " + file);
    }

    private ObjectNode machine() throws IOException, InterruptedException {
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
        String tag = server + "-" + agents + "-r" + rep;
        log("=== " + tag);
        Path data = work.resolve(tag);
        deleteTree(data);
        Files.createDirectories(data);
        Path logs = work.resolve("logs");
        int port = args.integer("port", 18220);
        int mport = args.integer("management-port", 18221);
        String xmx = args.get("xmx", "1g");
        List<String> jvm = new ArrayList<>(List.of(java(), "-Xmx" + xmx, "-XX:+UseG1GC", "-XX:NativeMemoryTracking=summary"));
        String extra = args.get("server-jvm-args", "").trim();
        if (!extra.isEmpty()) {
            jvm.addAll(List.of(extra.split("\\s+")));
        }

        List<String> cmd = new ArrayList<>(jvm);
        if (server.equals("ours")) {
            cmd.addAll(List.of("-jar", args.get("jar", "fleet-server-netty/target/fleet-server.jar")));
        } else {
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Baseline.class.getName(),
                    "--max-seconds", Long.toString(TimeUnit.NANOSECONDS.toSeconds(budget) + 60)));
        }
        cmd.addAll(List.of("--data-dir", data.toString(), "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--management-port", Integer.toString(mport)));
        BlockingQueue<String> serverLines = new LinkedBlockingQueue<>();
        BlockingQueue<String> wokeLines = new LinkedBlockingQueue<>();
        Child srv = new Child(tag + "-server", cmd, logs.resolve(tag + "-server.log"), line -> {
            if (line.contains("parked checkins")) {
                wokeLines.add(line);
            } else if (line.startsWith("Enrollment token: ") || line.startsWith("Management token file: ")) {
                serverLines.add(line);
            }
        });
        children.add(srv);
        String enrollToken = null;
        String managementToken = "none";
        while (enrollToken == null) {
            String line = serverLines.poll(Math.min(120_000, left(deadline)), TimeUnit.MILLISECONDS);
            if (line == null) {
                throw new IllegalStateException("server did not start; see " + logs.resolve(tag + "-server.log"));
            }
            if (line.startsWith("Enrollment token: ")) {
                enrollToken = line.substring("Enrollment token: ".length()).trim();
            } else if (line.startsWith("Management token file: ")) {
                Path f = Path.of(line.substring("Management token file: ".length()).split(" ")[0]);
                if (Files.exists(f)) {
                    managementToken = Files.readString(f).trim();
                }
            }
        }

        ObjectNode run = LINES.createObjectNode();
        run.put("rep", rep);
        run.put("serverCommand", String.join(" ", cmd));
        try (ServerProbe probe = ServerProbe.attach(srv.pid())) {
            ServerProbe.Memory idle = probe.measure();
            run.set("idle", memory(idle));
            log("idle " + idle);

            int perGen = args.integer("per-generator", 10000);
            int k = (agents + perGen - 1) / perGen;
            Generators gens = new Generators(k);
            CpuMeter cpu = new CpuMeter();
            List<Long> pids = new ArrayList<>(List.of(srv.pid()));
            cpu.start(pids);
            long parkStart = System.nanoTime();
            for (int g = 0; g < k; g++) {
                int share = agents / k + (g < agents % k ? 1 : 0);
                List<String> gc = List.of(java(), "-Xmx" + args.get("generator-xmx", "1g"), "-cp",
                        System.getProperty("java.class.path"), LoadGenerator.class.getName(),
                        "--targets", "127.0.0.1:" + port, "--token", enrollToken, "--agents", Integer.toString(share),
                        "--id", Integer.toString(g), "--sources", "127.0." + (g + 1) + ".1-127.0." + (g + 1) + ".8",
                        "--enroll-concurrency", args.get("enroll-concurrency", "400"),
                        "--apply-millis", args.get("apply-millis", "1000"),
                        "--max-seconds", Long.toString(left(deadline) / 1000));
                int id = g;
                Child c = new Child(tag + "-gen" + g, gc, logs.resolve(tag + "-gen" + g + ".log"), l -> gens.onLine(id, l));
                children.add(c);
                gens.children.add(c);
                pids.add(c.pid());
            }
            long settle = TimeUnit.SECONDS.toNanos(args.integer("settle-seconds", 3));
            long allParked = gens.awaitParked(agents, settle, deadline);
            run.put("parkSeconds", (allParked - parkStart) / 1e9);
            log("all " + agents + " parked after " + run.get("parkSeconds") + " s");

            run.set("parkCpu", cores(cpu.stop(pids)));
            ServerProbe.Memory at = probe.measure();
            run.set("parked", memory(at));
            ObjectNode per = run.putObject("perConnection");
            per.put("heapBytes", (at.heap() - idle.heap()) / (double) agents);
            per.put("directBytes", (at.direct() - idle.direct()) / (double) agents);
            per.put("jvmBytes", (at.jvm() - idle.jvm()) / (double) agents);
            per.put("rssBytes", (at.rss() - idle.rss()) / (double) agents);
            per.put("nmtBytes", (at.nmtCommitted() - idle.nmtCommitted()) / (double) agents);
            per.put("jvmAbsoluteBytes", at.jvm() / (double) agents);
            log("parked " + at + " per connection " + per);
            ArrayNode hist = run.putArray("classHistogram");
            probe.classHistogram(45).forEach(hist::add);

            ArrayNode fanouts = run.putArray("fanouts");
            int warmups = args.integer("warmup-fanouts", 1);
            int count = warmups + args.integer("fanouts", 3);
            long fanoutTimeout = TimeUnit.SECONDS.toMillis(args.integer("fanout-timeout-seconds", 60));
            for (int f = 0; f < count; f++) {
                if (f > 0) {
                    gens.awaitParked(agents, TimeUnit.SECONDS.toNanos(2), deadline);
                }
                cpu.start(pids);
                wokeLines.clear();
                ObjectNode fo = fanout(gens, mport, managementToken, f, fanoutTimeout, deadline);
                woke(fo, wokeLines);
                fo.put("warmup", f < warmups);
                fo.set("cpu", cores(cpu.stop(pids)));
                fanouts.add(fo);
            }
            gens.stopAll();
            run.set("generators", gens.summary());
        }
        srv.close(0);
        return run;
    }

    private ObjectNode fanout(Generators gens, int mport, String token, int f, long timeoutMillis, long deadline)
            throws Exception {
        String level = f % 2 == 0 ? "debug" : "info";
        HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + mport + "/api/fleet/agent_policies/default"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"agent\":{\"logging\":{\"level\":\"" + level + "\"}}}")).build();
        gens.fanouts.clear();
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
            if (e.path("revision").asLong() != revision) {
                continue;
            }
            reports++;
            received += e.path("received").asLong();
            early += e.path("early").asLong();
            merged.add(Histograms.decode(e.path("histogram").asText()));
        }
        ObjectNode r = LINES.createObjectNode();
        r.put("revision", revision);
        r.put("putStartEpochMillis", wall0);
        r.put("putMillis", (t1 - t0) / 1e6);
        r.put("received", received);
        r.put("early", early);
        r.put("reports", reports);
        r.put("p50Millis", merged.getValueAtPercentile(50) / 1000.0);
        r.put("p99Millis", merged.getValueAtPercentile(99) / 1000.0);
        r.put("maxMillis", merged.getMaxValue() / 1000.0);
        r.put("histogram", Histograms.encode(merged));
        log("fanout " + r.deepCopy().without("histogram"));
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
        o.put("threads", m.threads());
        return o;
    }

    // ------------------------------------------------------------------ generators of one run

    /** The generator processes of one run and what they last reported. */
    private static final class Generators {
        final List<Child> children = new CopyOnWriteArrayList<>();
        final Map<Integer, JsonNode> progress = new ConcurrentHashMap<>();
        final Map<Integer, JsonNode> done = new ConcurrentHashMap<>();
        final BlockingQueue<JsonNode> fanouts = new LinkedBlockingQueue<>();
        final int count;

        Generators(int count) {
            this.count = count;
        }

        void onLine(int id, String line) {
            if (!line.startsWith("{")) {
                return;
            }
            try {
                JsonNode e = LINES.readTree(line);
                switch (e.path("event").asText()) {
                    case "progress" -> progress.put(id, e);
                    case "done" -> done.put(id, e);
                    case "fanout" -> fanouts.add(e);
                    default -> {
                    }
                }
            } catch (IOException e) {
                // Not one of ours.
            }
        }

        /**
         * Waits until the generators together report {@code agents} parked checkins and have kept reporting that
         * for {@code settle}; returns when they first did. Fails at the deadline or when a generator dies.
         */
        long awaitParked(int agents, long settle, long deadline) throws InterruptedException {
            long since = -1;
            long lastLog = 0;
            while (true) {
                long now = System.nanoTime();
                for (Child c : children) {
                    if (!c.alive()) {
                        throw new IllegalStateException(c.name() + " exited early");
                    }
                }
                long parked = 0;
                for (JsonNode p : progress.values()) {
                    parked += p.path("parked").asLong();
                }
                if (progress.size() == count && parked == agents) {
                    if (since < 0) {
                        since = now;
                    } else if (now - since >= settle) {
                        return since;
                    }
                } else {
                    since = -1;
                }
                if (now - deadline > 0) {
                    throw new IllegalStateException("not all agents parked in time: " + progress.values());
                }
                if (now - lastLog > TimeUnit.SECONDS.toNanos(10)) {
                    lastLog = now;
                    long enrolled = progress.values().stream().mapToLong(p -> p.path("enrolled").asLong()).sum();
                    log("  enrolled " + enrolled + " parked " + parked + "/" + agents + " "
                            + progress.values().stream().map(p -> p.path("errors").toString()).toList());
                }
                Thread.sleep(100);
            }
        }

        void stopAll() throws InterruptedException {
            for (Child c : children) {
                try {
                    c.send("stop");
                } catch (IOException e) {
                    // Gone already.
                }
            }
            for (Child c : children) {
                c.close(30);
            }
        }

        ObjectNode summary() {
            ObjectNode s = LINES.createObjectNode();
            s.put("processes", count);
            Histogram enroll = new Histogram(TimeUnit.HOURS.toMicros(1), 3);
            long reconnects = 0;
            long throttled = 0;
            long expired = 0;
            ObjectNode errors = s.putObject("errors");
            for (JsonNode d : done.values()) {
                enroll.add(Histograms.decode(d.path("enrollHistogram").asText()));
                reconnects += d.path("reconnects").asLong();
                throttled += d.path("throttled").asLong();
                expired += d.path("pollsExpired").asLong();
                d.path("errors").fields().forEachRemaining(f -> errors.put(f.getKey(),
                        errors.path(f.getKey()).asLong() + f.getValue().asLong()));
            }
            s.put("enrollP50Millis", enroll.getValueAtPercentile(50) / 1000.0);
            s.put("enrollP99Millis", enroll.getValueAtPercentile(99) / 1000.0);
            s.put("enrollMaxMillis", enroll.getMaxValue() / 1000.0);
            s.put("reconnects", reconnects);
            s.put("throttled", throttled);
            s.put("pollsExpired", expired);
            return s;
        }
    }

    // ------------------------------------------------------------------ helpers

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static long left(long deadline) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    private static void deleteTree(Path p) throws IOException {
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
