package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code kill -9} of one of three servers on Elasticsearch while {@code --agents} agents are parked and acks are in
 * flight (an action and a policy update just before the kill), with new agents enrolling all along. Its agents fail
 * over to the other two, as the agent does with several fleet hosts.
 *
 * <p>Checks: the two others stay up; all agents are parked again within {@code --recovery-seconds} of the kill and
 * hold the revision of the update; a later policy update reaches all of them within {@code --fanout-seconds};
 * agents get only 200 or 429/503 with {@code Retry-After}; no agent document's {@code policy_revision_idx} goes
 * backwards (documents read before the update and at the end); acks lost: 0, enrolls lost: 0.
 */
final class Kill9Phase extends ChaosPhase {
    /** Which server is killed: not the first, whose management API the phase uses. */
    private static final int VICTIM = 1;

    Kill9Phase() {
        super("kill9");
    }

    @Override
    public void run(ChaosRig rig, Verdict v, ObjectNode f, long deadline) throws Exception {
        EsFleet fleet = EsFleet.start(rig, name(), deadline, f);
        EsStoreView store = new EsStoreView(rig.es());
        ServerProcess first = fleet.servers.get(0);
        int agents = fleet.agents;
        long recovery = TimeUnit.SECONDS.toNanos(rig.integer("recovery-seconds", 120));
        long fanoutMillis = TimeUnit.SECONDS.toMillis(rig.integer("fanout-seconds", 60));
        long settle = TimeUnit.SECONDS.toNanos(3);

        Map<String, Long> a0 = fleet.answers();
        JsonNode c0 = fleet.counters();
        fleet.startFlow(rig, name(), deadline);
        long t0 = System.nanoTime();
        long rev1 = rig.putPolicy(first, "debug", deadline);
        ObjectNode fo1 = rev1 < 0 ? null : rig.fanout(fleet.parked, rev1, t0, fanoutMillis);
        if (fo1 == null || fo1.path("received").asLong() != agents) {
            throw new IllegalStateException("set-up: the first policy update did not reach every agent: " + fo1);
        }
        fleet.parked.parkedWithin(agents, settle, Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(60)), 0);
        Map<String, LostWrites.AgentDoc> before = store.agents(List.of());
        f.put("documentsBefore", before.size());

        List<String> ids = fleet.parked.ids(deadline);
        String action = rig.bulkUpgrade(first, ids, "9.6.1", deadline);
        long tPut = System.nanoTime();
        long rev2 = rig.putPolicy(first, "info", deadline);
        f.put("actionBeforeKill", action);
        f.put("revisionBeforeKill", rev2);
        // In the middle of the acks: agents ack a new revision 0.5-1.5 s after receiving it.
        Thread.sleep(rig.integer("kill-delay-millis", 1000));
        ServerProcess victim = fleet.servers.get(VICTIM);
        long failoversBefore = fleet.counters().path("failovers").asLong();
        long tKill = System.nanoTime();
        victim.kill9();
        BenchRunner.log(name() + ": killed " + victim.name + " (pid " + fleet.pids.get(VICTIM) + ")");

        long parkedAt = fleet.parked.parkedWithin(agents, settle, Math.min(deadline, tKill + recovery), tKill);
        f.put("allParkedAfterKillSeconds", parkedAt < 0 ? -1 : (parkedAt - tKill) / 1e9);
        v.check("all " + agents + " agents parked again (on the two others) within "
                        + TimeUnit.NANOSECONDS.toSeconds(recovery) + " s of the kill", parkedAt > 0,
                parkedAt > 0 ? String.format(java.util.Locale.ROOT, "after %.1f s", (parkedAt - tKill) / 1e9)
                        : "parked " + fleet.parked.sum("parked") + " at the bound");
        ObjectNode fo2 = rig.fanout(fleet.parked, rev2, tPut, fanoutMillis);
        f.set("fanoutAcrossKill", fo2);
        v.check("every agent holds the revision sent just before the kill", fo2.path("received").asLong() == agents,
                fo2.toString());
        long t3 = System.nanoTime();
        long rev3 = rig.putPolicy(first, "debug", deadline);
        ObjectNode fo3 = rev3 < 0 ? ChaosRig.JSON.createObjectNode().put("received", -1) : rig.fanout(fleet.parked, rev3, t3, fanoutMillis);
        f.set("fanoutAfterKill", fo3);
        v.check("a policy update after the kill reached all " + agents + " agents within " + fanoutMillis / 1000 + " s",
                fo3.path("received").asLong() == agents, fo3.toString());

        long flowAt = fleet.flow.parkedWithin(fleet.flowAgents, settle,
                Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(fleet.flowSeconds() + 120)), 0);
        v.check("all " + fleet.flowAgents + " agents enrolled during the phase ended parked", flowAt > 0,
                "enrolled " + fleet.flow.sum("enrolled") + ", parked " + fleet.flow.sum("parked"));
        fleet.parked.parkedWithin(agents, settle, Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(60)), 0);
        Map<String, Long> a3 = fleet.answers();
        JsonNode c3 = fleet.counters();
        boolean othersUp = fleet.serversUp(List.of(VICTIM));
        fleet.stopGenerators();

        v.check("the two other servers stayed up (same pids)", othersUp, "pids " + fleet.pids);
        f.put("failovers", c3.path("failovers").asLong() - failoversBefore);
        f.set("answers", ChaosRig.json(AnswerRules.delta(a0, a3)));
        f.set("transportErrors", ChaosRig.json(ChaosChecks.transportErrors(c0, c3)));
        f.set("counters", c3);
        ChaosChecks.onlyRetryLater(v, AnswerRules.delta(a0, a3));

        Map<String, LostWrites.AgentDoc> after = store.agents(List.of());
        List<String> back = LostWrites.rollbacks(before, after);
        f.put("documentsAfter", after.size());
        f.put("rollbacks", back.size());
        v.check("no agent document went backwards (policy_revision_idx before the kill <= at the end, "
                + before.size() + " documents)", back.isEmpty(), back.isEmpty() ? "none" : back.size() + ", e.g. "
                + back.subList(0, Math.min(3, back.size())));
        Journal journal = Journal.read(fleet.journals);
        ChaosChecks.nothingLost(v, journal, store, f);
        ChaosChecks.lostAfterGracefulStop(journal, store, fleet.servers, f);
    }
}
