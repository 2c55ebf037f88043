package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Elasticsearch stopped for {@code --outage-seconds} (a real stop of the node, data kept, then a start) under
 * {@code --agents} agents parked on three servers, while agents keep flowing: new enrolls all along, an action and a
 * policy update just before the stop, so that their acks are in flight when the node goes.
 *
 * <p>Checks: the servers never restart; agents get only 200 or 429/503 with {@code Retry-After} (never a 401,
 * never another 4xx or a 5xx without it) and no transport error; the outage was seen (503s); after the node is
 * ready again all agents are parked within {@code --recovery-seconds} and a policy update reaches all of them
 * within {@code --fanout-seconds}; the flowing agents all end parked; acks lost: 0 and enrolls lost: 0 against the
 * indices at the end.
 */
final class EsOutagePhase extends ChaosPhase {
    EsOutagePhase() {
        super("es-outage");
    }

    @Override
    public void run(ChaosRig rig, Verdict v, ObjectNode f, long deadline) throws Exception {
        EsFleet fleet = EsFleet.start(rig, name(), deadline, f);
        EsCluster es = rig.es();
        ServerProcess first = fleet.servers.get(0);
        int agents = fleet.agents;
        long outage = TimeUnit.SECONDS.toNanos(rig.integer("outage-seconds", 60));
        long recovery = TimeUnit.SECONDS.toNanos(rig.integer("recovery-seconds", 120));
        long fanoutMillis = TimeUnit.SECONDS.toMillis(rig.integer("fanout-seconds", 60));

        Map<String, Long> a0 = fleet.answers();
        JsonNode c0 = fleet.counters();
        fleet.startFlow(rig, name(), deadline);
        Thread.sleep(5_000);
        // Acks in flight when the node goes: an action for every parked agent (acked at once) and a policy
        // revision (acked 0.5-1.5 s after receipt, as the agent applies it first).
        List<String> ids = fleet.parked.ids(deadline);
        String action = rig.bulkUpgrade(first, ids, "9.6.1", deadline);
        long rev1 = rig.putPolicy(first, "debug", deadline);
        f.put("actionBeforeOutage", action);
        f.put("revisionBeforeOutage", rev1);
        Thread.sleep(1_000);

        Map<String, Long> a1 = fleet.answers();
        long tStop = System.nanoTime();
        es.stopNode(180);
        long tStopped = System.nanoTime();
        f.put("stopMillis", (tStopped - tStop) / 1e6);
        BenchRunner.log(name() + ": Elasticsearch stopped in " + f.get("stopMillis") + " ms");
        long minParked = agents;
        boolean serversUp = true;
        while (System.nanoTime() - (tStop + outage) < 0) {
            Thread.sleep(200);
            minParked = Math.min(minParked, fleet.parked.sum("parked"));
            serversUp &= fleet.serversUp(List.of());
        }
        Map<String, Long> a2 = fleet.answers();
        long tStart = System.nanoTime();
        es.startNode(240);
        long tReady = System.nanoTime();
        f.put("outageSeconds", (tStart - tStop) / 1e9);
        f.put("startMillis", (tReady - tStart) / 1e6);
        f.put("minParkedDuringOutage", minParked);
        BenchRunner.log(name() + ": Elasticsearch back after " + f.get("outageSeconds") + " s down, ready in "
                + f.get("startMillis") + " ms; parked during the outage: at least " + minParked + " of " + agents);

        long parkedAt = fleet.parked.parkedWithin(agents, TimeUnit.SECONDS.toNanos(3), Math.min(deadline, tReady + recovery), tReady);
        f.put("allParkedAfterReadySeconds", parkedAt < 0 ? -1 : (parkedAt - tReady) / 1e9);
        v.check("all " + agents + " agents parked again within " + TimeUnit.NANOSECONDS.toSeconds(recovery)
                        + " s of Elasticsearch being ready", parkedAt > 0,
                parkedAt > 0 ? String.format(java.util.Locale.ROOT, "after %.1f s", (parkedAt - tReady) / 1e9)
                        : "parked " + fleet.parked.sum("parked") + " at the bound");

        long t0 = System.nanoTime();
        long rev2 = rig.putPolicy(first, "info", deadline);
        ObjectNode fo = rev2 < 0 ? ChaosRig.JSON.createObjectNode().put("received", -1) : rig.fanout(fleet.parked, rev2, t0, fanoutMillis);
        f.set("fanoutAfterRecovery", fo);
        v.check("a policy update after recovery reached all " + agents + " agents within " + fanoutMillis / 1000 + " s",
                fo.path("received").asLong() == agents, fo.toString());

        long flowAt = fleet.flow.parkedWithin(fleet.flowAgents, TimeUnit.SECONDS.toNanos(3),
                Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(fleet.flowSeconds() + 120)), 0);
        v.check("all " + fleet.flowAgents + " agents enrolled during the phase ended parked", flowAt > 0,
                "enrolled " + fleet.flow.sum("enrolled") + ", parked " + fleet.flow.sum("parked"));
        // The acks of the last update are answered once the agents are parked again.
        fleet.parked.parkedWithin(agents, TimeUnit.SECONDS.toNanos(3), Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(60)), 0);
        Map<String, Long> a3 = fleet.answers();
        JsonNode c3 = fleet.counters();
        serversUp &= fleet.serversUp(List.of());
        fleet.stopGenerators();

        v.check("no server restarted (3 processes, same pids, alive throughout)", serversUp, "pids " + fleet.pids);
        Map<String, Long> all = AnswerRules.delta(a0, a3);
        f.set("answersBeforeOutage", ChaosRig.json(AnswerRules.delta(a0, a1)));
        f.set("answersDuringOutage", ChaosRig.json(AnswerRules.delta(a1, a2)));
        f.set("answersAfterRestart", ChaosRig.json(AnswerRules.delta(a2, a3)));
        ChaosChecks.onlyRetryLater(v, all);
        long seen = AnswerRules.count(AnswerRules.delta(a1, a3), 503, true);
        v.check("the outage reached the agents (503 + Retry-After answers)", seen > 0, seen + " answers 503 + Retry-After");
        Map<String, Long> transport = ChaosChecks.transportErrors(c0, c3);
        f.set("transportErrors", ChaosRig.json(transport));
        f.set("counters", c3);
        ChaosChecks.noTransportErrors(v, transport);
        Journal journal = Journal.read(fleet.journals);
        EsStoreView store = new EsStoreView(es);
        ChaosChecks.nothingLost(v, journal, store, f);
        ChaosChecks.lostAfterGracefulStop(journal, store, fleet.servers, f);
    }
}
