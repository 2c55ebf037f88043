package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Summarises {@code park-fanout-<server>-<N>.json} files: medians over runs (fan-out: over every fan-out of every
 * run), our server as a ratio to the baseline of the same runner invocation, as a Markdown table
 * ({@code park-fanout.md}) and a plot ({@code park-fanout.png}, Java2D, no plotting library).
 */
public final class Report {
    private static final String[] SERVERS = {"ours", "baseline"};

    private Report() {
    }

    public static void main(String[] argv) throws IOException {
        Args a = new Args(argv, "java -cp bench.jar dev.fleetserver.bench.Report [--out bench/results]", List.of("out"));
        Path out = Path.of(a.get("out", "bench/results"));
        TreeMap<Integer, JsonNode[]> byN = new TreeMap<>();
        try (Stream<Path> files = Files.list(out)) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("park-fanout-\\w+-\\d+\\.json")).toList()) {
                JsonNode doc = BenchRunner.JSON.readTree(f.toFile());
                int i = Arrays.asList(SERVERS).indexOf(doc.path("server").asText());
                if (i >= 0) {
                    byN.computeIfAbsent(doc.path("agents").asInt(), n -> new JsonNode[2])[i] = doc;
                }
            }
        }
        String md = markdown(byN);
        Files.writeString(out.resolve("park-fanout.md"), md, StandardCharsets.UTF_8);
        System.out.print(md);
        plot(byN, out.resolve("park-fanout.png"));
    }

    /** Medians of one (server, N); NaN where there is nothing. */
    record Row(int runs, double jvmPerConn, double heapPerConn, double directPerConn, double rssPerConn,
               double jvmAbsPerConn, double parkSeconds, double fanP50, double fanP99, double fanMax, double put,
               long minReceived, int fanouts, double parkedJvm, double parkedHeap, double foreignPark, double foreignFan, double wakeDone, double maxAfterPut) {
    }

    static Row row(JsonNode doc, int n) {
        if (doc == null) {
            return null;
        }
        List<JsonNode> all = new ArrayList<>();
        doc.path("runs").forEach(r -> {
            if (!r.has("failed")) {
                all.add(r);
            }
        });
        // Runs disturbed by other processes count only when there is no quiet one.
        List<JsonNode> quiet = all.stream().filter(r -> !r.path("noisy").asBoolean()).toList();
        List<JsonNode> runs = quiet.isEmpty() ? all : quiet;
        List<JsonNode> fans = new ArrayList<>();
        runs.forEach(r -> r.path("fanouts").forEach(f -> {
            if (!f.path("warmup").asBoolean()) {
                fans.add(f);
            }
        }));
        long minReceived = fans.stream().mapToLong(f -> f.path("received").asLong()).min().orElse(0);
        return new Row(runs.size(),
                median(runs, r -> r.path("perConnection").path("jvmBytes").asDouble()),
                median(runs, r -> r.path("perConnection").path("heapBytes").asDouble()),
                median(runs, r -> r.path("perConnection").path("directBytes").asDouble()),
                median(runs, r -> r.path("perConnection").path("rssBytes").asDouble()),
                median(runs, r -> r.path("perConnection").path("jvmAbsoluteBytes").asDouble()),
                median(runs, r -> r.path("parkSeconds").asDouble()),
                median(fans, f -> f.path("p50Millis").asDouble()),
                median(fans, f -> f.path("p99Millis").asDouble()),
                median(fans, f -> f.path("maxMillis").asDouble()),
                median(fans, f -> f.path("putMillis").asDouble()),
                minReceived, fans.size(),
                median(runs, r -> r.path("parked").path("heapBytes").asDouble() + r.path("parked").path("directBytes").asDouble()),
                median(runs, r -> r.path("parked").path("heapBytes").asDouble()),
                median(runs, r -> r.path("parkCpu").path("foreignCores").asDouble()),
                median(fans, f -> f.path("cpu").path("foreignCores").asDouble()),
                median(fans, f -> f.has("serverWakeDoneMillis") ? f.path("serverWakeDoneMillis").asDouble() : Double.NaN),
                median(fans, f -> Math.max(0, f.path("maxMillis").asDouble() - f.path("putMillis").asDouble())));
    }

    static double median(List<JsonNode> xs, ToDoubleFunction<JsonNode> f) {
        double[] v = xs.stream().mapToDouble(f).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** A table row: N, and the figures of ours and of the baseline at N (either null when it has no run there). */
    private interface RowPrinter {
        void print(int n, Row ours, Row base);
    }

    private static void eachRow(TreeMap<Integer, JsonNode[]> byN, RowPrinter printer) {
        byN.forEach((n, docs) -> printer.print(n, row(docs[0], n), row(docs[1], n)));
    }

    private static String markdown(TreeMap<Integer, JsonNode[]> byN) {
        StringWriter s = new StringWriter();
        PrintWriter w = new PrintWriter(s);
        w.println("### Park: JVM memory per parked checkin (medians over quiet runs; delta from the idle server, after full GC)");
        w.println();
        w.println("| N | runs ours/base | ours heap+direct | base heap+direct | ratio | ours heap | ours direct | ours RSS | base RSS | ours absolute (heap+direct)/N | park time ours / base | other load, cores |");
        w.println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        eachRow(byN, (n, o, b) -> w.printf(Locale.ROOT, "| %d | %s/%s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s |%n", n,
                o == null ? "-" : o.runs(), b == null ? "-" : b.runs(),
                kb(o, Row::jvmPerConn), kb(b, Row::jvmPerConn), ratio(o, b, Row::jvmPerConn),
                kb(o, Row::heapPerConn), kb(o, Row::directPerConn), kb(o, Row::rssPerConn), kb(b, Row::rssPerConn),
                kb(o, Row::jvmAbsPerConn), sec(o), sec(b), cores(o, Row::foreignPark), cores(b, Row::foreignPark)));
        w.println();
        double so = slope(byN, 0, Row::parkedJvm);
        double sb = slope(byN, 1, Row::parkedJvm);
        w.printf(Locale.ROOT, "Marginal cost per parked connection (least-squares slope of median heap+direct at N parked, over N = %s):"
                + " ours %.2f KB (heap alone %.2f KB), baseline %.2f KB (heap alone %.2f KB), ratio %.2f×.%n",
                byN.keySet(), so / 1024, slope(byN, 0, Row::parkedHeap) / 1024, sb / 1024, slope(byN, 1, Row::parkedHeap) / 1024, so / sb);
        w.println();
        w.println("### Policy fan-out: from just before the PUT to each agent's receipt of the new revision (medians over all measured fan-outs; warm-up fan-outs excluded)");
        w.println();
        w.println("| N | fan-outs ours/base | ours p50 | ours p99 | ours max | base p50 | base p99 | base max | max ratio | ours PUT | ours wake loop done | max after PUT returned ours / base | all received | other load, cores |");
        w.println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|");
        eachRow(byN, (n, o, b) -> w.printf(Locale.ROOT, "| %d | %s/%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s / %s |%n", n,
                o == null ? "-" : o.fanouts(), b == null ? "-" : b.fanouts(),
                ms(o, Row::fanP50), ms(o, Row::fanP99), ms(o, Row::fanMax),
                ms(b, Row::fanP50), ms(b, Row::fanP99), ms(b, Row::fanMax), ratio(o, b, Row::fanMax),
                ms(o, Row::put), ms(o, Row::wakeDone), ms(o, Row::maxAfterPut), ms(b, Row::maxAfterPut), received(o, n) + " / " + received(b, n), cores(o, Row::foreignFan), cores(b, Row::foreignFan)));
        w.flush();
        return s.toString();
    }

    /** Least-squares slope of {@code f} against N for one server; NaN with fewer than two points. */
    static double slope(TreeMap<Integer, JsonNode[]> byN, int server, ToDoubleFunction<Row> f) {
        List<double[]> pts = new ArrayList<>();
        byN.forEach((n, docs) -> {
            Row r = row(docs[server], n);
            if (r != null && !Double.isNaN(f.applyAsDouble(r))) {
                pts.add(new double[] {n, f.applyAsDouble(r)});
            }
        });
        if (pts.size() < 2) {
            return Double.NaN;
        }
        double mx = pts.stream().mapToDouble(p -> p[0]).average().orElse(0);
        double my = pts.stream().mapToDouble(p -> p[1]).average().orElse(0);
        double num = 0;
        double den = 0;
        for (double[] p : pts) {
            num += (p[0] - mx) * (p[1] - my);
            den += (p[0] - mx) * (p[0] - mx);
        }
        return num / den;
    }

    private static String received(Row r, int n) {
        return r == null || r.fanouts() == 0 ? "-" : (r.minReceived() == n ? "yes" : "min " + r.minReceived());
    }

    private static String kb(Row r, ToDoubleFunction<Row> f) {
        return r == null || Double.isNaN(f.applyAsDouble(r)) ? "-" : String.format(Locale.ROOT, "%.2f KB", f.applyAsDouble(r) / 1024);
    }

    private static String ms(Row r, ToDoubleFunction<Row> f) {
        return r == null || Double.isNaN(f.applyAsDouble(r)) ? "-" : String.format(Locale.ROOT, "%.0f ms", f.applyAsDouble(r));
    }

    private static String cores(Row r, ToDoubleFunction<Row> f) {
        return r == null || Double.isNaN(f.applyAsDouble(r)) ? "-" : String.format(Locale.ROOT, "%.2f", f.applyAsDouble(r));
    }

    private static String sec(Row r) {
        return r == null ? "-" : String.format(Locale.ROOT, "%.0f s", r.parkSeconds());
    }

    private static String ratio(Row o, Row b, ToDoubleFunction<Row> f) {
        if (o == null || b == null || Double.isNaN(f.applyAsDouble(o)) || f.applyAsDouble(b) <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f×", f.applyAsDouble(o) / f.applyAsDouble(b));
    }

    // ------------------------------------------------------------------ plot

    /** Draws on {@code img}: cleared to white, antialiased. */
    static Graphics2D canvas(BufferedImage img) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        return g;
    }

    private static void plot(TreeMap<Integer, JsonNode[]> byN, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 1200;
        int h = 500;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = Report.canvas(img);
        List<Integer> ns = new ArrayList<>(byN.keySet());
        double[][] mem = new double[2][ns.size()];
        double[][] fan = new double[2][ns.size()];
        for (int i = 0; i < ns.size(); i++) {
            for (int s = 0; s < 2; s++) {
                Row r = row(byN.get(ns.get(i))[s], ns.get(i));
                mem[s][i] = r == null ? Double.NaN : r.parkedJvm() / (1024 * 1024);
                fan[s][i] = r == null ? Double.NaN : r.fanMax();
            }
        }
        panel(g, 60, 40, 500, 380, "Server heap+direct with N parked, after GC (MB)", ns, mem,
                n -> n * 6.0 / 1024, "6 KB x N");
        panel(g, 660, 40, 500, 380, "Policy fan-out, last agent updated (ms)", ns, fan, n -> 2000.0, "target 2 s");
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.setColor(new Color(0x1f77b4));
        g.drawString("■ our server (embedded store)", 60, 475);
        g.setColor(new Color(0xff7f0e));
        g.drawString("■ baseline (minimal Netty parker)", 300, 475);
        g.setColor(Color.GRAY);
        g.drawString("- - target", 560, 475);
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    /** Title at ({@code titleX}, {@code titleY}), both axes, and five grid lines labelled up to {@code maxY}. */
    static void axes(Graphics2D g, String title, int titleX, int titleY, int x, int y, int pw, int ph, double maxY) {
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, titleX, titleY);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawLine(x, y + ph, x + pw, y + ph);
        g.drawLine(x, y, x, y + ph);
        for (int t = 0; t <= 5; t++) {
            double v = maxY * t / 5;
            int py = y + ph - (int) (ph * t / 5.0);
            g.setColor(new Color(0xeeeeee));
            g.drawLine(x + 1, py, x + pw, py);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, v >= 100 || v == 0 ? "%.0f" : "%.1f", v), x - 45, py + 4);
        }
    }

    private static void panel(Graphics2D g, int x, int y, int pw, int ph, String title, List<Integer> ns,
                              double[][] series, java.util.function.DoubleUnaryOperator target, String targetLabel) {
        double maxN = ns.stream().mapToInt(Integer::intValue).max().orElse(1);
        double maxY = target.applyAsDouble(maxN) * 1.2;
        for (double[] s : series) {
            for (double v : s) {
                if (!Double.isNaN(v)) {
                    maxY = Math.max(maxY, v * 1.1);
                }
            }
        }
        axes(g, title, x, y - 12, x, y, pw, ph, maxY);
        for (int n : ns) {
            int px = x + (int) (pw * n / maxN);
            g.drawLine(px, y + ph, px, y + ph + 4);
            g.drawString(Integer.toString(n), px - 14, y + ph + 18);
        }
        g.drawString("agents (N)", x + pw / 2 - 25, y + ph + 34);
        int ty0 = y + ph - (int) (ph * target.applyAsDouble(0) / maxY);
        int ty = y + ph - (int) (ph * target.applyAsDouble(maxN) / maxY);
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
        g.drawLine(x, ty0, x + pw, ty);
        g.drawString(targetLabel, x + pw - 70, ty - 6);
        Color[] colors = {new Color(0x1f77b4), new Color(0xff7f0e)};
        g.setStroke(new BasicStroke(2.5f));
        for (int s = 0; s < series.length; s++) {
            g.setColor(colors[s]);
            int lastX = -1;
            int lastY = -1;
            for (int i = 0; i < ns.size(); i++) {
                double v = series[s][i];
                if (Double.isNaN(v)) {
                    continue;
                }
                int px = x + (int) (pw * ns.get(i) / maxN);
                int py = y + ph - (int) (ph * v / maxY);
                g.fillOval(px - 4, py - 4, 8, 8);
                if (lastX >= 0) {
                    g.drawLine(lastX, lastY, px, py);
                }
                lastX = px;
                lastY = py;
            }
        }
        g.setStroke(new BasicStroke(1));
    }
}
