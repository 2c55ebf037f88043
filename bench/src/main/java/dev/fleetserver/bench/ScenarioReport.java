package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Summarises the scenarios other than the embedded park + fan-out ({@link Report} does that one): action fan-out,
 * policy fan-out on Elasticsearch and on several servers, reconnect storms, enroll and ack throughput. Reads
 * {@code <scenario>-<server>-<N>.json}, writes {@code scenarios.md} and {@code fanout-vs-n.png} (last agent
 * served against N, every fan-out kind measured). Medians over quiet runs (all runs when none was quiet).
 */
public final class ScenarioReport {
    private ScenarioReport() {
    }

    public static void main(String[] argv) throws IOException {
        Args a = new Args(argv, "java -cp bench.jar dev.fleetserver.bench.ScenarioReport [--out bench/results]", List.of("out"));
        Path out = Path.of(a.get("out", "bench/results"));
        // scenario -> server label -> N -> document
        Map<String, Map<String, TreeMap<Integer, JsonNode>>> docs = new TreeMap<>();
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("(park-fanout|action-fanout|storm|enroll)-.+-\\d+\\.json")).sorted().toList()) {
                JsonNode doc = BenchRunner.JSON.readTree(f.toFile());
                String scenario = doc.path("scenario").asText();
                String server = doc.path("server").asText();
                docs.computeIfAbsent(scenario, k -> new TreeMap<>()).computeIfAbsent(server, k -> new TreeMap<>())
                        .put(doc.path("agents").asInt(), doc);
            }
        }
        StringWriter s = new StringWriter();
        PrintWriter w = new PrintWriter(s);
        fanouts(w, docs);
        storms(w, docs.getOrDefault("storm", Map.of()));
        enrolls(w, docs);
        w.flush();
        Files.writeString(out.resolve("scenarios.md"), s.toString(), StandardCharsets.UTF_8);
        System.out.print(s);
        plot(docs, out.resolve("fanout-vs-n.png"));
    }

    static List<JsonNode> runs(JsonNode doc) {
        List<JsonNode> all = new ArrayList<>();
        // A failed run (e.g. a timeout after some fan-outs) still contributes what it measured.
        doc.path("runs").forEach(all::add);
        List<JsonNode> quiet = all.stream().filter(r -> !r.path("noisy").asBoolean()).toList();
        return quiet.isEmpty() ? all : quiet;
    }

    static List<JsonNode> measuredFanouts(JsonNode doc) {
        List<JsonNode> fans = new ArrayList<>();
        runs(doc).forEach(r -> r.path("fanouts").forEach(f -> {
            if (!f.path("warmup").asBoolean()) {
                fans.add(f);
            }
        }));
        return fans;
    }

    private static long noisyRuns(JsonNode doc) {
        List<JsonNode> l = new ArrayList<>();
        doc.path("runs").forEach(l::add);
        return l.stream().filter(r -> r.path("noisy").asBoolean()).count();
    }

    private static void fanouts(PrintWriter w, Map<String, Map<String, TreeMap<Integer, JsonNode>>> docs) {
        w.println("### Fan-out: from just before the management request to each agent's receipt (medians over measured fan-outs of quiet runs)");
        w.println();
        w.println("| what | server | N | runs (noisy) | fan-outs | p50 | p99 | max | request answered | max after answer | all received | acks/s (action) | park time | enrolls/s while parking | other load, cores |");
        w.println("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
        for (String scenario : List.of("action-fanout", "park-fanout")) {
            docs.getOrDefault(scenario, Map.of()).forEach((server, byN) -> {
                if (scenario.equals("park-fanout") && (server.equals("ours") || server.equals("baseline"))) {
                    return; // Report's table
                }
                byN.forEach((n, doc) -> {
                    List<JsonNode> fans = measuredFanouts(doc);
                    List<JsonNode> runs = runs(doc);
                    long minReceived = fans.stream().mapToLong(f -> f.path("received").asLong()).min().orElse(0);
                    w.printf(Locale.ROOT, "| %s | %s | %d | %d (%d) | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                            scenario.equals("action-fanout") ? "action (bulk_upgrade)" : "policy update", server, n,
                            runs.size(), noisyRuns(doc), fans.size(),
                            ms(fans, f -> f.path("p50Millis").asDouble()), ms(fans, f -> f.path("p99Millis").asDouble()),
                            ms(fans, f -> f.path("maxMillis").asDouble()), ms(fans, f -> f.path("putMillis").asDouble()),
                            ms(fans, f -> Math.max(0, f.path("maxMillis").asDouble() - f.path("putMillis").asDouble())),
                            fans.isEmpty() ? "-" : minReceived == n ? "yes" : "min " + minReceived,
                            scenario.equals("action-fanout") ? num(fans, f -> f.path("acks").path("perSecond").asDouble(Double.NaN)) : "-",
                            sec(runs, r -> r.path("parkSeconds").asDouble()),
                            num(runs, r -> r.path("generators").path("enrollWindow").path("perSecond").asDouble(Double.NaN)),
                            cores(fans, f -> f.path("cpu").path("foreignCores").asDouble()));
                });
            });
        }
        w.println();
    }

    private static void storms(PrintWriter w, Map<String, TreeMap<Integer, JsonNode>> docs) {
        if (docs.isEmpty()) {
            return;
        }
        w.println("### Reconnect storm: stop the server, start it again on the same data dir; until every agent has a parked checkin again (held 3 s)");
        w.println();
        w.println("| server | N | signal | storms (runs, noisy) | stop | restart (to ready) | all parked after ready: median / max | after stop: median | errors over all storms | other load, cores |");
        w.println("|---|---:|---|---|---:|---:|---|---:|---|---:|");
        docs.forEach((server, byN) -> byN.forEach((n, doc) -> {
            List<JsonNode> storms = new ArrayList<>();
            List<JsonNode> runs = runs(doc);
            runs.forEach(r -> r.path("storms").forEach(storms::add));
            Map<String, Long> errors = new LinkedHashMap<>();
            storms.forEach(st -> st.path("errors").fields().forEachRemaining(f -> errors.merge(f.getKey(), f.getValue().asLong(), Long::sum)));
            double maxAfter = storms.stream().mapToDouble(st -> st.path("allParkedAfterReadyMillis").asDouble()).max().orElse(Double.NaN);
            w.printf(Locale.ROOT, "| %s | %d | %s | %d (%d, %d) | %s | %s | %s / %.0f ms | %s | %s | %s |%n", server, n,
                    storms.isEmpty() ? "-" : storms.get(0).path("signal").asText(), storms.size(), runs.size(), noisyRuns(doc),
                    ms(storms, st -> st.path("stopMillis").asDouble()), ms(storms, st -> st.path("restartMillis").asDouble()),
                    ms(storms, st -> st.path("allParkedAfterReadyMillis").asDouble()), maxAfter,
                    ms(storms, st -> st.path("allParkedAfterStopMillis").asDouble()), errors.isEmpty() ? "none" : errors.toString(),
                    cores(storms, st -> st.path("cpu").path("foreignCores").asDouble()));
        }));
        w.println();
    }

    private static void enrolls(PrintWriter w, Map<String, Map<String, TreeMap<Integer, JsonNode>>> docs) {
        Map<String, TreeMap<Integer, JsonNode>> byServer = docs.getOrDefault("enroll", Map.of());
        if (byServer.isEmpty()) {
            return;
        }
        w.println("### Enroll throughput: agents enroll and leave, `--enroll-concurrency` in flight per generator");
        w.println();
        w.println("| server | N | runs (noisy) | enrolls/s | enroll p50 | enroll p99 | other load, cores |");
        w.println("|---|---:|---|---:|---:|---:|---:|");
        byServer.forEach((server, byN) -> byN.forEach((n, doc) -> {
            List<JsonNode> runs = runs(doc);
            w.printf(Locale.ROOT, "| %s | %d | %d (%d) | %s | %s | %s | %s |%n", server, n, runs.size(), noisyRuns(doc),
                    num(runs, r -> r.path("enrollWindow").path("perSecond").asDouble(Double.NaN)),
                    ms(runs, r -> r.path("generators").path("enrollP50Millis").asDouble()),
                    ms(runs, r -> r.path("generators").path("enrollP99Millis").asDouble()),
                    cores(runs, r -> r.path("enrollCpu").path("foreignCores").asDouble()));
        }));
        w.println();
    }

    private static String ms(List<JsonNode> xs, ToDoubleFunction<JsonNode> f) {
        double v = Report.median(xs, f);
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f ms", v);
    }

    private static String sec(List<JsonNode> xs, ToDoubleFunction<JsonNode> f) {
        double v = Report.median(xs, f);
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f s", v);
    }

    private static String num(List<JsonNode> xs, ToDoubleFunction<JsonNode> f) {
        double v = Report.median(xs, f);
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f", v);
    }

    private static String cores(List<JsonNode> xs, ToDoubleFunction<JsonNode> f) {
        double v = Report.median(xs, f);
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    // ------------------------------------------------------------------ plot

    private static void plot(Map<String, Map<String, TreeMap<Integer, JsonNode>>> docs, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, TreeMap<Integer, Double>> series = new LinkedHashMap<>();
        docs.forEach((scenario, byServer) -> {
            if (!scenario.endsWith("fanout")) {
                return;
            }
            byServer.forEach((server, byN) -> {
                TreeMap<Integer, Double> pts = new TreeMap<>();
                byN.forEach((n, doc) -> {
                    List<JsonNode> fans = measuredFanouts(doc);
                    if (fans.isEmpty()) {
                        // A run that ended after its first fan-out (e.g. the next request timed out): that one.
                        runs(doc).forEach(r -> r.path("fanouts").forEach(fans::add));
                    }
                    double v = Report.median(fans, f -> f.path("maxMillis").asDouble());
                    if (!Double.isNaN(v)) {
                        pts.put(n, v);
                    }
                });
                if (!pts.isEmpty()) {
                    series.put((scenario.equals("action-fanout") ? "action, " : "policy, ") + server, pts);
                }
            });
        });
        if (series.isEmpty()) {
            return;
        }
        int w = 1300;
        int h = 560;
        int x = 80;
        int y = 50;
        int pw = 640;
        int ph = 420;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = Report.canvas(img);
        double maxN = series.values().stream().mapToInt(TreeMap::lastKey).max().orElse(1) * 1.05;
        double maxY = Math.max(5500, series.values().stream().flatMap(m -> m.values().stream()).mapToDouble(d -> d).max().orElse(1) * 1.1);
        Report.axes(g, "Fan-out: last agent served after the management request (ms, median) against N", x, y - 20,
                x, y, pw, ph, maxY);
        for (int t = 0; t <= 5; t++) {
            double n = maxN * t / 5;
            int px = x + (int) (pw * t / 5.0);
            g.drawLine(px, y + ph, px, y + ph + 4);
            g.drawString(String.format(Locale.ROOT, "%.0f", n), px - 14, y + ph + 18);
        }
        g.drawString("agents (N)", x + pw / 2 - 25, y + ph + 36);
        g.setStroke(new BasicStroke(1, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
        for (double[] target : new double[][] {{2000, 0x2ca02c}, {3000, 0xd62728}, {5000, 0x9467bd}}) {
            int ty = y + ph - (int) (ph * target[0] / maxY);
            g.setColor(new Color((int) target[1]));
            g.drawLine(x, ty, x + pw, ty);
            g.drawString(String.format(Locale.ROOT, "target %.0f s", target[0] / 1000), x + pw - 70, ty - 4);
        }
        Color[] colors = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)};
        g.setStroke(new BasicStroke(2.5f));
        int i = 0;
        for (Map.Entry<String, TreeMap<Integer, Double>> e : series.entrySet()) {
            g.setColor(colors[i % colors.length]);
            int lastX = -1;
            int lastY = -1;
            for (Map.Entry<Integer, Double> p : e.getValue().entrySet()) {
                int px = x + (int) (pw * p.getKey() / maxN);
                int py = y + ph - (int) (ph * p.getValue() / maxY);
                g.fillOval(px - 4, py - 4, 8, 8);
                if (lastX >= 0) {
                    g.drawLine(lastX, lastY, px, py);
                }
                lastX = px;
                lastY = py;
            }
            g.drawString("■ " + e.getKey(), x + pw + 30, y + 20 + 20 * i);
            i++;
        }
        g.setColor(Color.GRAY);
        int ly = y + 20 + 20 * i + 10;
        for (String line : List.of("targets: policy 2 s embedded, 3 s Elasticsearch,", "5 s with 3 servers on Elasticsearch",
                "", "each point: median of the measured fan-outs", "(the warm-up one where a run had no other);",
                "noisy runs count when there is no quiet one", "(see RESULTS.md for which)")) {
            g.drawString(line, x + pw + 30, ly);
            ly += 16;
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }
}
