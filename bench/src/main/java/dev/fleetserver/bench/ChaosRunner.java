package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code --scenario chaos}: the hardening phases, each with its own verdict and figures, run one after the other
 * ({@code --phases}, default all): {@link EsOutagePhase es-outage}, {@link Kill9Phase kill9},
 * {@link EmbeddedKillPhase embedded-kill}, {@link MemoryAttackPhase memory-attack}. Writes
 * {@code <out>/chaos-<phase>.json} per phase, prints one verdict line per phase, and exits non-zero when any phase
 * failed. Every phase is bounded by {@code --phase-max-seconds}.
 */
public final class ChaosRunner {
    static final String USAGE = """
            java -jar bench/target/bench.jar --scenario chaos [--phases es-outage,kill9,embedded-kill,memory-attack]
                [--jar fleet-server-netty/target/fleet-server.jar] [--out bench/results/chaos] [--work-dir /tmp/fleet-chaos]
                [--port 18520]   (es phases: 18520, 18522, 18524; embedded-kill: 18530; memory-attack: 18540; +1: management)
                [--agents 5000] [--xmx 1g] [--generator-xmx 1g] [--phase-max-seconds 900] [--park-seconds 300]
                [--es-heap 1g] [--es-classpath bench/target/test-classes:fleet-server-es/target/test-classes]
                es-outage, kill9: [--flow-agents 400 --flow-every-millis 250]  (new enrolls through the phase)
                    [--outage-seconds 60] [--recovery-seconds 120] [--fanout-seconds 60] [--kill-delay-millis 1000]
                embedded-kill: [--kill-every-seconds 20] [--kill-for-seconds 300] [--ek-agents 3000] [--ek-every-millis 100]
                memory-attack: [--attack-xmx 1g] [--attack-seconds 15] [--attack-small-connections 30]
                    [--attack-connections 300] [--pipeline-connections 20] [--pipeline-requests 50000] [--heap-limit-mb 900]""";
    static final List<String> OPTIONS = List.of("scenario", "phases", "jar", "out", "work-dir", "port", "agents", "xmx",
            "generator-xmx", "phase-max-seconds", "park-seconds", "es-heap", "es-classpath", "flow-agents",
            "flow-every-millis", "outage-seconds", "recovery-seconds", "fanout-seconds", "kill-delay-millis",
            "kill-every-seconds", "kill-for-seconds", "ek-agents", "ek-every-millis", "attack-xmx", "attack-seconds",
            "attack-small-connections", "attack-connections", "pipeline-connections", "pipeline-requests",
            "heap-limit-mb");

    private static final Map<String, ChaosPhase> PHASES = new LinkedHashMap<>();

    static {
        for (ChaosPhase p : List.of(new EsOutagePhase(), new Kill9Phase(), new EmbeddedKillPhase(), new MemoryAttackPhase())) {
            PHASES.put(p.name(), p);
        }
    }

    private ChaosRunner() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv, USAGE, OPTIONS);
        List<ChaosPhase> phases = new ArrayList<>();
        for (String name : args.get("phases", String.join(",", PHASES.keySet())).split(",")) {
            ChaosPhase p = PHASES.get(name.trim());
            if (p == null) {
                System.err.println("unknown phase " + name + "; phases: " + PHASES.keySet());
                System.exit(2);
            }
            phases.add(p);
        }
        Path out = Path.of(args.get("out", "bench/results/chaos"));
        Files.createDirectories(out);
        ChaosRig rig = new ChaosRig(args);
        Runtime.getRuntime().addShutdownHook(new Thread(rig::close, "chaos-cleanup"));
        ObjectNode machine = BenchRunner.machine();
        List<String> lines = new ArrayList<>();
        boolean allPassed = true;
        long begin = System.nanoTime();
        for (ChaosPhase phase : phases) {
            Verdict verdict = new Verdict();
            ObjectNode figures = ChaosRig.JSON.createObjectNode();
            long t0 = System.nanoTime();
            BenchRunner.log("=== chaos " + phase.name());
            try {
                phase.run(rig, verdict, figures, t0 + TimeUnit.SECONDS.toNanos(args.integer("phase-max-seconds", 900)));
            } catch (Exception e) {
                BenchRunner.log("phase " + phase.name() + " could not finish: " + e);
                verdict.check("the phase ran to its end", false, e.toString());
            } finally {
                rig.endPhase();
            }
            ObjectNode doc = ChaosRig.JSON.createObjectNode();
            doc.put("phase", phase.name());
            doc.put("passed", verdict.passed());
            doc.put("verdict", verdict.line(phase.name()));
            doc.put("wallSeconds", (System.nanoTime() - t0) / 1e9);
            doc.put("finishedAt", java.time.Instant.now().toString());
            doc.put("serverJar", args.get("jar", "fleet-server-netty/target/fleet-server.jar"));
            doc.set("checks", verdict.toJson());
            doc.set("figures", figures);
            doc.set("machine", machine);
            Path file = out.resolve("chaos-" + phase.name() + ".json");
            BenchRunner.JSON.writeValue(file.toFile(), doc);
            String line = verdict.line(phase.name());
            lines.add(line);
            System.out.println(line);
            System.out.flush();
            allPassed &= verdict.passed();
        }
        rig.close();
        BenchRunner.log(String.format(java.util.Locale.ROOT, "chaos: %d phase(s) in %.0f s; results in %s",
                phases.size(), (System.nanoTime() - begin) / 1e9, out));
        lines.forEach(System.out::println);
        System.exit(allPassed ? 0 : 1);
    }
}
