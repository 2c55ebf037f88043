package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The memory attack on one server on the embedded store started with {@code -Xmx1g -XX:+ExitOnOutOfMemoryError}
 * ({@code --attack-xmx}) with {@code --agents} agents parked: clients without any API key ({@link AttackClient}),
 * one attack after the other, each {@code --attack-seconds} long:
 * <ol>
 *   <li>{@code bomb} × {@code --attack-small-connections} (30): a gzip checkin body inflating to just under
 *       20 MiB, sent again as soon as it is answered;</li>
 *   <li>{@code held} × 30: the same without its last bytes, then the connection held open;</li>
 *   <li>{@code bomb} × {@code --attack-connections} (300);</li>
 *   <li>{@code held} × 300;</li>
 *   <li>{@code pipeline} × {@code --pipeline-connections} (20): {@code --pipeline-requests} small checkins each,
 *       written back to back, answers never read.</li>
 * </ol>
 * Heap used is sampled every 100 ms with jstat. When an attack kills the server it is started again on the same
 * data (its agents park again) so that every attack gets its own figures.
 *
 * <p>Checks, per attack: the server process stays alive; the attacker is answered only 4xx, or 5xx with
 * {@code Retry-After}, or has its connections closed; the parked agents are unaffected (none unparked, no
 * reconnect, no answer but 200); heap used stays below {@code --heap-limit-mb} (900). After all attacks: the server
 * was never restarted, and a policy update reaches every agent within {@code --fanout-seconds}.
 */
final class MemoryAttackPhase extends ChaosPhase {
    /** One attack: its client mode and connection count. */
    private record Attack(String mode, int connections) {
        String label() {
            return mode + "-x" + connections;
        }
    }

    MemoryAttackPhase() {
        super("memory-attack");
    }

    @Override
    public void run(ChaosRig rig, Verdict v, ObjectNode f, long deadline) throws Exception {
        Path dir = rig.phaseDir(name());
        int agents = rig.integer("agents", 5000);
        long attackSeconds = rig.integer("attack-seconds", 15);
        long heapLimit = rig.integer("heap-limit-mb", 900) * 1024L * 1024;
        long fanoutMillis = TimeUnit.SECONDS.toMillis(rig.integer("fanout-seconds", 60));
        String xmx = rig.args.get("attack-xmx", "1g");
        ServerProcess srv = rig.server(name() + "-server", dir.resolve("data"), rig.integer("port", 18520) + 20,
                rig.serverJvm(xmx, "-XX:+ExitOnOutOfMemoryError"), null);
        f.put("serverCommand", String.join(" ", srv.cmd));
        srv.start(deadline);
        Generators gen = rig.generator(name() + "-agents", List.of(srv), srv.enrollToken, agents, 44,
                TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()),
                List.of("--enroll-concurrency", "400", "--apply-millis", "1000"));
        long t0 = System.nanoTime();
        long settle = TimeUnit.SECONDS.toNanos(3);
        long parkedAt = gen.parkedWithin(agents, settle, Math.min(deadline, t0 + TimeUnit.SECONDS.toNanos(rig.integer("park-seconds", 300))), 0);
        if (parkedAt < 0) {
            throw new IllegalStateException("set-up: the " + agents + " agents did not all park; parked " + gen.sum("parked"));
        }
        f.put("parkSeconds", (parkedAt - t0) / 1e9);
        BenchRunner.log(name() + ": " + agents + " agents parked after " + f.get("parkSeconds") + " s");

        int small = rig.integer("attack-small-connections", 30);
        int many = rig.integer("attack-connections", 300);
        List<Attack> attacks = List.of(new Attack("bomb", small), new Attack("held", small), new Attack("bomb", many),
                new Attack("held", many), new Attack("pipeline", rig.integer("pipeline-connections", 20)));
        ArrayNode out = f.putArray("attacks");
        long startPid = srv.pid();
        int restarts = 0;
        long peak = -1;
        HeapSampler heap = new HeapSampler(srv.pid(), 100, rig.logs.resolve(name() + "-jstat-0.log"));
        try {
            for (Attack attack : attacks) {
                ObjectNode af = out.addObject();
                af.put("attack", attack.label());
                if (!srv.alive()) {
                    // The previous attack killed it: start it again so that this one is measured too.
                    heap.close();
                    srv.start(deadline);
                    restarts++;
                    heap = new HeapSampler(srv.pid(), 100, rig.logs.resolve(name() + "-jstat-" + restarts + ".log"));
                    long started = System.nanoTime();
                    long back = gen.parkedWithin(agents, settle, Math.min(deadline, started + TimeUnit.SECONDS.toNanos(180)), started);
                    af.put("serverRestartedBefore", true);
                    af.put("agentsParkedAgainSeconds", back < 0 ? -1 : (back - started) / 1e9);
                    if (back < 0) {
                        v.check(attack.label() + ": agents parked before the attack", false, "parked " + gen.sum("parked"));
                        continue;
                    }
                }
                peak = Math.max(peak, attack(rig, v, srv, gen, heap, attack, agents, attackSeconds, heapLimit, af));
            }
        } finally {
            heap.close();
        }
        f.put("heapPeakBytes", peak);
        f.put("serverRestarts", restarts);
        v.check("the server process was never restarted (pid " + startPid + " alive to the end)",
                restarts == 0 && srv.alive() && srv.pid() == startPid, restarts + " restarts, alive " + srv.alive());
        if (srv.alive()) {
            long tPut = System.nanoTime();
            long rev = rig.putPolicy(srv, "debug", Math.min(deadline, tPut + TimeUnit.SECONDS.toNanos(30)));
            ObjectNode fo = rev < 0 ? ChaosRig.JSON.createObjectNode().put("received", -1) : rig.fanout(gen, rev, tPut, fanoutMillis);
            f.set("fanoutAfterAttacks", fo);
            v.check("a policy update after the attacks reached all " + agents + " parked agents within "
                    + fanoutMillis / 1000 + " s", fo.path("received").asLong() == agents, fo.toString());
        } else {
            v.check("a policy update after the attacks reached all " + agents + " parked agents", false, "server dead");
        }
        gen.stopAll();
    }

    /** One attack and its checks; returns the heap peak during it. */
    private static long attack(ChaosRig rig, Verdict v, ServerProcess srv, Generators gen, HeapSampler heap, Attack attack,
                               int agents, long seconds, long heapLimit, ObjectNode af) throws Exception {
        String label = attack.label();
        heap.takeWindow();
        Map<String, Long> a0 = gen.answers();
        JsonNode c0 = gen.counters();
        AtomicReference<JsonNode> last = new AtomicReference<>();
        BenchRunner.log("attack " + label + " for " + seconds + " s");
        Child client = rig.attacker("memory-attack-" + label, srv.port, attack.mode(), attack.connections(), seconds,
                rig.integer("pipeline-requests", 50_000), last::set);
        long t0 = System.nanoTime();
        long minParked = agents;
        long diedAfter = -1;
        long until = t0 + TimeUnit.SECONDS.toNanos(seconds + 30);
        while (client.alive() && System.nanoTime() - until < 0) {
            Thread.sleep(100);
            minParked = Math.min(minParked, gen.sum("parked"));
            if (diedAfter < 0 && !srv.alive()) {
                diedAfter = System.nanoTime() - t0;
            }
        }
        client.close(5);
        // The server's work after the attack (closing, collecting) counts too.
        long settleUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() - settleUntil < 0) {
            Thread.sleep(100);
            minParked = Math.min(minParked, gen.sum("parked"));
            if (diedAfter < 0 && !srv.alive()) {
                diedAfter = System.nanoTime() - t0;
            }
        }
        HeapSampler.Sample peak = heap.takeWindow();
        Map<String, Long> agentAnswers = AnswerRules.delta(a0, gen.answers());
        JsonNode c1 = gen.counters();
        long reconnects = c1.path("reconnects").asLong() - c0.path("reconnects").asLong();
        JsonNode report = last.get();
        Map<String, Long> attackerAnswers = new java.util.TreeMap<>();
        if (report != null) {
            report.path("answers").fields().forEachRemaining(e -> attackerAnswers.put(e.getKey(), e.getValue().asLong()));
            af.set("attacker", report);
        }
        af.put("heapPeakBytes", peak.used());
        af.put("oldGenPeakBytes", peak.old());
        af.put("minParked", minParked);
        af.put("agentReconnects", reconnects);
        af.set("agentAnswers", ChaosRig.json(agentAnswers));
        boolean alive = diedAfter < 0 && srv.alive();
        String death = "";
        if (!alive) {
            af.put("serverDiedAfterSeconds", diedAfter / 1e9);
            death = "died " + String.format(java.util.Locale.ROOT, "%.1f", diedAfter / 1e9) + " s into the attack"
                    + (oom(srv.currentLog) ? " (OutOfMemoryError)" : "");
            af.put("serverDeath", death);
        }
        BenchRunner.log("attack " + label + ": server " + (alive ? "alive" : death) + ", heap peak "
                + (peak.used() >> 20) + " MB, attacker " + attackerAnswers + ", min parked " + minParked
                + ", agent reconnects " + reconnects);
        v.check(label + ": the server process stayed alive", alive, alive ? "alive" : death);
        Map<String, Long> bad = AnswerRules.attackViolations(attackerAnswers);
        v.check(label + ": the attacker got only 4xx, 5xx with Retry-After, or closed connections",
                report != null && bad.isEmpty(),
                report == null ? "no report from the attack client" : "answers " + attackerAnswers + ", closed "
                        + report.path("closedByServer").asLong() + (bad.isEmpty() ? "" : ", violations " + bad));
        Map<String, Long> agentBad = AnswerRules.agentViolations(agentAnswers, false);
        v.check(label + ": parked agents unaffected (none unparked, no reconnect, only 200 answers)",
                minParked == agents && reconnects == 0 && agentBad.isEmpty(),
                "min parked " + minParked + "/" + agents + ", reconnects " + reconnects + ", answers " + agentAnswers);
        v.check(label + ": heap used below " + (heapLimit >> 20) + " MB", peak.used() >= 0 && peak.used() < heapLimit,
                "peak " + (peak.used() >> 20) + " MB (old generation " + (peak.old() >> 20) + " MB)");
        return peak.used();
    }

    /** Whether the server's log says it ran out of memory. */
    private static boolean oom(Path log) {
        try {
            return Files.readString(log).contains("OutOfMemoryError");
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
