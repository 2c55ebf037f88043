package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One server on the embedded store, {@code kill -9} every {@code --kill-every-seconds} for {@code --kill-for-seconds}
 * and started again at once on the same data dir, while agents flow: one new agent every
 * {@code --ek-every-millis} (enroll, checkin, ack, park; {@code --ek-agents} in all), and halfway between kills a
 * policy update and an action for every enrolled agent, so that acks are in flight at each kill. The last kill is
 * not followed by a start: the store is then read back as the next start would find it.
 *
 * <p>Checks: every start succeeded; agents got only 200 or 429/503 with {@code Retry-After} (transport errors are
 * the kills'); nothing answered 200 is missing from the store (enrolls, policy acks, action acks).
 */
final class EmbeddedKillPhase extends ChaosPhase {
    EmbeddedKillPhase() {
        super("embedded-kill");
    }

    @Override
    public void run(ChaosRig rig, Verdict v, ObjectNode f, long deadline) throws Exception {
        Path dir = rig.phaseDir(name());
        Path data = dir.resolve("data");
        long every = TimeUnit.SECONDS.toNanos(rig.integer("kill-every-seconds", 20));
        long span = TimeUnit.SECONDS.toNanos(rig.integer("kill-for-seconds", 300));
        int agents = rig.integer("ek-agents", 3000);
        ServerProcess srv = rig.server(name() + "-server", data, rig.integer("port", 18520) + 10,
                rig.serverJvm(rig.args.get("xmx", "1g")), null);
        srv.start(deadline);
        Path journal = dir.resolve("journal.txt");
        Generators gen = rig.generator(name() + "-agents", List.of(srv), srv.enrollToken, agents, 43,
                TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()),
                List.of("--start-every-millis", Integer.toString(rig.integer("ek-every-millis", 100)),
                        "--journal", journal.toString(), "--apply-millis", "1000"));
        Map<String, Long> a0 = gen.answers();
        long begin = System.nanoTime();
        ArrayNode restarts = f.putArray("restartMillis");
        ArrayNode rounds = f.putArray("rounds");
        int kills = 0;
        int failedStarts = 0;
        List<String> failures = new ArrayList<>();
        for (int k = 1; System.nanoTime() - (begin + span) < 0 && System.nanoTime() - deadline < 0; k++) {
            ObjectNode round = rounds.addObject();
            sleepUntil(begin + (k - 1) * every + every / 2);
            long roundDeadline = Math.min(deadline, System.nanoTime() + every / 2 - TimeUnit.SECONDS.toNanos(2));
            round.put("revision", rig.putPolicy(srv, k % 2 == 0 ? "info" : "debug", roundDeadline));
            List<String> ids = gen.ids(deadline);
            if (!ids.isEmpty()) {
                round.put("action", rig.bulkUpgrade(srv, ids, "9.6." + k, roundDeadline));
                round.put("actionTargets", ids.size());
            }
            sleepUntil(begin + k * every);
            round.put("parkedAtKill", gen.sum("parked"));
            srv.kill9();
            kills++;
            if (System.nanoTime() - (begin + span) >= 0) {
                break;
            }
            long t = System.nanoTime();
            try {
                srv.start(deadline);
                restarts.add((System.nanoTime() - t) / 1_000_000);
            } catch (IllegalStateException e) {
                // It did not come up (in time): the store may be damaged; the phase fails, and says so.
                failedStarts++;
                failures.add(e.toString());
                break;
            }
            BenchRunner.log(name() + ": kill " + kills + ", started again in " + (System.nanoTime() - t) / 1_000_000
                    + " ms; agents started " + gen.sum("started") + ", enrolled " + gen.sum("enrolled") + ", parked "
                    + gen.sum("parked"));
        }
        // The last kill had no start after it: what the agents were answered is final.
        Map<String, Long> a1 = gen.answers();
        JsonNode counters = gen.counters();
        gen.stopAll();
        f.put("kills", kills);
        f.put("agentsStarted", gen.sum("started"));
        f.put("agentsEnrolled", gen.sum("enrolled"));
        f.set("counters", counters);
        Map<String, Long> answers = AnswerRules.delta(a0, a1);
        f.set("answers", ChaosRig.json(answers));
        v.check("the server started again after every kill", failedStarts == 0 && kills > 0,
                kills + " kills, " + restarts.size() + " starts" + (failures.isEmpty() ? "" : ", failed: " + failures));
        ChaosChecks.onlyRetryLater(v, answers);
        Journal j = Journal.read(List.of(journal));
        v.check("agents flowed (enrolls and acks answered 200 between the kills)",
                j.enrolled().size() > 0 && j.policyAcks().size() > 0 && j.actionAcks().size() > 0,
                j.enrolled().size() + " enrolls, " + j.policyAcks().size() + " agents with a policy ack, "
                        + j.actionAcks().size() + " action acks");
        try (EmbeddedStoreView store = new EmbeddedStoreView(data)) {
            ChaosChecks.nothingLost(v, j, store, f);
        }
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left = nanoTime - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }
}
