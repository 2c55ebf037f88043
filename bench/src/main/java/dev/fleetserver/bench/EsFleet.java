package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The set-up of the Elasticsearch chaos phases: three of our servers on the Elasticsearch node (own data dirs, ports
 * {@code --port}, +2, +4, loopback), {@code --agents} agents seeded in Elasticsearch and parked across them by one
 * generator (agent i's home is server i mod 3, the others its failover hosts), and a second generator that enrolls
 * new agents at a steady pace through the phase ({@code --flow-agents}, one each {@code --flow-every-millis}). Both
 * keep a journal of what the servers answered 200 to.
 */
final class EsFleet {
    final List<ServerProcess> servers = new ArrayList<>();
    final List<Long> pids = new ArrayList<>();
    final int agents;
    final int flowAgents;
    final long flowEveryMillis;
    final Path dir;
    final List<Path> journals = new ArrayList<>();
    Generators parked;
    Generators flow;

    private EsFleet(Path dir, int agents, int flowAgents, long flowEveryMillis) {
        this.dir = dir;
        this.agents = agents;
        this.flowAgents = flowAgents;
        this.flowEveryMillis = flowEveryMillis;
    }

    /** Wipes the Fleet indices, starts the servers, seeds and parks the agents; records the set-up figures. */
    static EsFleet start(ChaosRig rig, String phase, long deadline, ObjectNode figures) throws Exception {
        EsCluster es = rig.es();
        es.wipeFleetIndices();
        EsFleet f = new EsFleet(rig.phaseDir(phase), rig.integer("agents", 5000), rig.integer("flow-agents", 400),
                rig.integer("flow-every-millis", 250));
        int port = rig.integer("port", 18520);
        String yaml = rig.esYaml();
        for (int i = 0; i < 3; i++) {
            ServerProcess s = rig.server(phase + "-s" + i, f.dir.resolve("s" + i), port + 2 * i,
                    rig.serverJvm(rig.args.get("xmx", "1g")), yaml);
            // One after the other: on a fresh cluster only the first creates the default policy.
            s.start(deadline);
            f.servers.add(s);
            f.pids.add(s.pid());
        }
        long t = System.nanoTime();
        es.seed(f.agents, 1, f.dir);
        figures.put("seedSeconds", (System.nanoTime() - t) / 1e9);
        Path journal = f.dir.resolve("journal-parked.txt");
        f.journals.add(journal);
        long lifetime = TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime());
        f.parked = rig.generator(phase + "-parked", f.servers, f.servers.get(0).enrollToken, f.agents, 41, lifetime,
                List.of("--credentials", f.dir.resolve("credentials-g0.txt").toString(), "--journal", journal.toString(),
                        "--apply-millis", "1000"));
        long t0 = System.nanoTime();
        long at = f.parked.parkedWithin(f.agents, TimeUnit.SECONDS.toNanos(3),
                Math.min(deadline, t0 + TimeUnit.SECONDS.toNanos(rig.integer("park-seconds", 300))), 0);
        if (at < 0) {
            throw new IllegalStateException("set-up: the " + f.agents + " seeded agents did not all park; parked "
                    + f.parked.sum("parked"));
        }
        figures.put("parkSeconds", (at - t0) / 1e9);
        BenchRunner.log(phase + ": " + f.agents + " agents parked on 3 servers after " + figures.get("parkSeconds") + " s");
        return f;
    }

    /** Starts the enrolling generator (its agents fail over like the parked ones). */
    void startFlow(ChaosRig rig, String phase, long deadline) throws Exception {
        Path journal = dir.resolve("journal-flow.txt");
        journals.add(journal);
        long lifetime = TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime());
        flow = rig.generator(phase + "-flow", servers, servers.get(0).enrollToken, flowAgents, 42, lifetime,
                List.of("--start-every-millis", Long.toString(flowEveryMillis), "--journal", journal.toString(),
                        "--apply-millis", "1000"));
    }

    /** How long the flow takes to start all its agents. */
    long flowSeconds() {
        return flowAgents * flowEveryMillis / 1000;
    }

    /** Whether every server except those in {@code killed} still runs as the process first started. */
    boolean serversUp(List<Integer> killed) {
        for (int i = 0; i < servers.size(); i++) {
            if (!killed.contains(i) && (!servers.get(i).alive() || servers.get(i).pid() != pids.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** Stops both generators (their journals are complete afterwards). */
    void stopGenerators() throws InterruptedException {
        parked.stopAll();
        if (flow != null) {
            flow.stopAll();
        }
    }

    /** Answers to both generators' agents so far, by {@code <step>.<status>[.ra]}. */
    java.util.Map<String, Long> answers() {
        java.util.Map<String, Long> a = parked.answers();
        if (flow != null) {
            flow.answers().forEach((k, n) -> a.merge(k, n, Long::sum));
        }
        return a;
    }

    /** Both generators' error and retry counters, summed. */
    ObjectNode counters() {
        ObjectNode c = parked.counters();
        if (flow != null) {
            flow.counters().fields().forEachRemaining(e -> c.put(e.getKey(), c.path(e.getKey()).asLong() + e.getValue().asLong()));
        }
        return c;
    }
}
