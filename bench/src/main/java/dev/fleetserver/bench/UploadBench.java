package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code --scenario upload}: diagnostics upload throughput and memory. One server (embedded store, {@code --xmx}
 * bounded heap) on loopback; {@code --agents} enrolled agents each upload a {@code --file-mb} file at the same time,
 * as Elastic Agent does (begin, 4 MiB chunks with {@code X-Chunk-Sha2}, complete), {@code --reps} rounds. Per round:
 * MB/s over the round's wall time, and the server's heap used right after a full GC ({@code jcmd GC.run}, then
 * {@code jstat}), and the peak heap used during the round ({@code jstat} every 100 ms); a heap that does not grow
 * from round to round is the point (chunks are held one per request, never the file). 429s (the body memory budget) are retried after their {@code Retry-After}, and counted.
 */
final class UploadBench {
    private static final String USAGE = """
            java -jar bench.jar --scenario upload --jar fleet-server-netty/target/fleet-server.jar
                [--agents 20] [--file-mb 50] [--reps 3] [--xmx 512m] [--max-seconds 900]
                [--out bench/results/upload] [--work-dir /tmp/fleet-bench-upload]
            """;
    private static final int CHUNK = 4 * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Args args;
    private final HttpClient http;
    private final List<Child> children = new CopyOnWriteArrayList<>();
    private final AtomicLong retried429 = new AtomicLong();
    private final AtomicLong resets = new AtomicLong();

    private UploadBench(Args args) {
        this.args = args;
        ExecutorService pool = Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "upload-bench-http");
            t.setDaemon(true);
            return t;
        });
        this.http = HttpClient.newBuilder().executor(pool).connectTimeout(Duration.ofSeconds(5)).build();
    }

    static void main(String[] argv) throws Exception {
        Args a = new Args(argv, USAGE, List.of("scenario", "jar", "agents", "file-mb", "reps", "xmx", "max-seconds",
                "out", "work-dir"));
        UploadBench b = new UploadBench(a);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> b.children.forEach(Child::close), "upload-bench-cleanup"));
        try {
            b.run();
        } finally {
            b.children.forEach(Child::close);
        }
    }

    private void run() throws Exception {
        int agents = args.integer("agents", 20);
        int fileMb = args.integer("file-mb", 50);
        int reps = args.integer("reps", 3);
        String xmx = args.get("xmx", "512m");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(args.longValue("max-seconds", 900));
        Path out = Path.of(args.get("out", "bench/results/upload"));
        Path work = Path.of(args.get("work-dir", "/tmp/fleet-bench-upload"));
        Files.createDirectories(out);
        deleteTree(work);
        Files.createDirectories(work);
        int port = freePort();
        int mport = freePort();
        Path config = work.resolve("fleet-server.yml");
        StringBuilder limits = new StringBuilder();
        for (String route : List.of("upload_start_limit", "upload_end_limit", "upload_chunk_limit")) {
            limits.append("        ").append(route).append(": {interval: 1ms, burst: 1000, max: 1000}\n");
        }
        Files.writeString(config, """
                inputs:
                  - type: fleet-server
                    server:
                      host: 127.0.0.1
                      port: %d
                      limits:
                %s
                management:
                  host: 127.0.0.1
                  port: %d
                """.formatted(port, limits, mport));
        List<String> cmd = List.of(BenchRunner.java(), "-Xmx" + xmx, "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
                "-jar", args.required("jar"), "--config", config.toString(), "--data-dir", work.resolve("data").toString());
        ServerProcess server = new ServerProcess("upload-server", cmd, work.resolve("server.log"), port, mport, children);
        server.start(deadline);
        String base = "http://127.0.0.1:" + port;

        byte[] file = new byte[fileMb * 1024 * 1024];
        new Random(1).nextBytes(file);
        int count = (file.length + CHUNK - 1) / CHUNK;
        String[] sha = new String[count];
        MessageDigest transit = MessageDigest.getInstance("SHA-256");
        for (int n = 0; n < count; n++) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(file, n * CHUNK, Math.min(CHUNK, file.length - n * CHUNK));
            byte[] h = d.digest();
            sha[n] = HexFormat.of().formatHex(h);
            transit.update(h);
        }
        String transitHash = HexFormat.of().formatHex(transit.digest());

        List<String[]> enrolled = new ArrayList<>();
        for (int i = 0; i < agents; i++) {
            JsonNode item = post(base + "/api/fleet/agents/enroll", "ApiKey " + server.enrollToken,
                    "{\"type\":\"PERMANENT\",\"metadata\":{\"local\":{\"elastic\":{\"agent\":{\"version\":\"9.6.0\"}}}}}")
                    .get("item");
            enrolled.add(new String[] {item.get("id").asText(), item.get("access_api_key").asText()});
        }

        ObjectNode report = JSON.createObjectNode();
        report.put("scenario", "upload");
        report.put("agents", agents);
        report.put("file_mb", fileMb);
        report.put("xmx", xmx);
        report.put("heap_after_gc_mb_before", heapAfterGcMb(server.pid()));
        ArrayNode rounds = report.putArray("rounds");
        HeapSampler heap = new HeapSampler(server.pid(), 100, work.resolve("jstat.log"));
        for (int rep = 1; rep <= reps && BenchRunner.left(deadline) > 0; rep++) {
            long before429 = retried429.get();
            long beforeResets = resets.get();
            heap.takeWindow();
            long start = System.nanoTime();
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (int i = 0; i < agents; i++) {
                String[] a = enrolled.get(i);
                String actionId = "bench-" + rep + "-" + i;
                all.add(CompletableFuture.runAsync(() -> upload(base, a[0], a[1], actionId, file, sha, transitHash, deadline)));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(BenchRunner.left(deadline), TimeUnit.MILLISECONDS);
            double seconds = (System.nanoTime() - start) / 1e9;
            double mb = (double) agents * file.length / (1024 * 1024);
            ObjectNode r = rounds.addObject();
            r.put("round", rep);
            r.put("seconds", Math.round(seconds * 100) / 100.0);
            r.put("mb_per_s", Math.round(mb / seconds * 10) / 10.0);
            r.put("retried_429", retried429.get() - before429);
            r.put("retried_reset", resets.get() - beforeResets);
            r.put("heap_peak_mb", heap.takeWindow().used() / (1024 * 1024));
            r.put("heap_after_gc_mb", heapAfterGcMb(server.pid()));
            System.out.println("round " + rep + ": " + r);
        }
        heap.close();
        server.stop();
        // The uploaded files (agents x file size x rounds) are of no further use.
        deleteTree(work.resolve("data"));
        Path result = out.resolve("upload-" + agents + "x" + fileMb + "mb-" + System.currentTimeMillis() + ".json");
        Files.writeString(result, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        System.out.println("written to " + result);
    }

    /** One agent's upload: begin, every chunk, complete; 429s retried after their Retry-After. */
    private void upload(String base, String agentId, String key, String actionId, byte[] file, String[] sha,
                        String transitHash, long deadline) {
        try {
            ObjectNode begin = JSON.createObjectNode();
            begin.put("action_id", actionId);
            begin.put("agent_id", agentId);
            begin.put("src", "agent");
            ObjectNode f = begin.putObject("file");
            f.put("size", file.length);
            f.put("name", "elastic-agent-diagnostics-bench.zip");
            f.put("mime_type", "application/zip");
            String uploadId = send(HttpRequest.newBuilder(URI.create(base + "/api/fleet/uploads"))
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(begin))), key, deadline)
                    .get("upload_id").asText();
            for (int n = 0; n < sha.length; n++) {
                int offset = n * CHUNK;
                send(HttpRequest.newBuilder(URI.create(base + "/api/fleet/uploads/" + uploadId + "/" + n))
                        .header("X-Chunk-Sha2", sha[n])
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(file, offset, Math.min(CHUNK, file.length - offset))),
                        key, deadline);
            }
            JsonNode done = send(HttpRequest.newBuilder(URI.create(base + "/api/fleet/uploads/" + uploadId))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"transithash\":{\"sha256\":\"" + transitHash + "\"}}")),
                    key, deadline);
            if (!"ok".equals(done.path("status").asText())) {
                throw new IllegalStateException("upload " + uploadId + " not completed: " + done);
            }
        } catch (Exception e) {
            throw new IllegalStateException(actionId + ": " + e.getMessage(), e);
        }
    }

    private JsonNode send(HttpRequest.Builder b, String key, long deadline) throws Exception {
        HttpRequest request = b.header("Authorization", "ApiKey " + key).header("Content-Type", "application/json")
                .header("User-Agent", "Elastic Agent v9.6.0").timeout(Duration.ofSeconds(120)).build();
        while (true) {
            HttpResponse<String> r;
            try {
                r = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (java.io.IOException e) {
                // A request refused before its body was read (over the server's body memory budget) has its
                // connection closed, and the client may see the reset before the 429: retried the same way.
                if (BenchRunner.left(deadline) <= 0) {
                    throw e;
                }
                resets.incrementAndGet();
                Thread.sleep(1000);
                continue;
            }
            if (r.statusCode() == 429 && BenchRunner.left(deadline) > 0) {
                retried429.incrementAndGet();
                long wait = r.headers().firstValueAsLong("Retry-After").orElse(1);
                Thread.sleep(Math.min(wait, 2) * 1000);
                continue;
            }
            if (r.statusCode() != 200) {
                throw new IllegalStateException(request.method() + " " + request.uri() + " -> " + r.statusCode() + ": " + r.body());
            }
            return r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
        }
    }

    private JsonNode post(String url, String authorization, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", authorization)
                .header("Content-Type", "application/json").header("User-Agent", "Elastic Agent v9.6.0")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("POST " + url + " -> " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** Heap used (MB) right after a full collection: {@code jcmd <pid> GC.run}, then one {@code jstat -gc} sample. */
    private static long heapAfterGcMb(long pid) throws Exception {
        String bin = Path.of(System.getProperty("java.home"), "bin").toString();
        Process gc = new ProcessBuilder(bin + "/jcmd", Long.toString(pid), "GC.run").redirectErrorStream(true).start();
        gc.getInputStream().readAllBytes();
        gc.waitFor(60, TimeUnit.SECONDS);
        Process jstat = new ProcessBuilder(bin + "/jstat", "-gc", Long.toString(pid)).redirectErrorStream(true).start();
        String[] lines = new String(jstat.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split("\n");
        jstat.waitFor(60, TimeUnit.SECONDS);
        HeapSampler.Sample s = HeapSampler.parse(lines[0], lines[lines.length - 1]);
        return s.used() / (1024 * 1024);
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void deleteTree(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
