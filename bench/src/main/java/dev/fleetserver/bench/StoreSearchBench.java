package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * {@code --scenario store-search}: the embedded store's searches alone, in this process, without a server or agents.
 * {@code --agents} agent documents shaped like Elastic Agent's (metadata, six components with a unit each, about
 * 2 KiB) and {@code --policies} policies of {@code --revisions} revisions of about {@code --policy-kb} KiB each are
 * written to a fresh store; each search the management API makes, and the policy list's reading (the latest revision
 * of every policy), is run a few times unmeasured, then timed {@code --reps} times (in turn, a collection before
 * each), and its median kept. To compare two versions of the store, put the other version's
 * {@code fleet-server-core/target/classes} before the bench jar on the class path.
 */
final class StoreSearchBench {
    private static final String USAGE = """
            java -cp [other/fleet-server-core/target/classes:]bench/target/bench.jar dev.fleetserver.bench.BenchRunner \\
                --scenario store-search [--agents 19000] [--policies 5] [--revisions 40] [--policy-kb 250] [--reps 11]
                [--out bench/results/store-search.json]
                [--work-dir /tmp/fleet-bench-store-search]
            """;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int WARM_UP_ROUNDS = 5;

    private StoreSearchBench() {
    }

    static void main(String[] argv) throws Exception {
        Args args = new Args(argv, USAGE, List.of("scenario", "agents", "policies", "revisions", "policy-kb", "reps", "out",
                "work-dir"));
        int agents = args.integer("agents", 19_000);
        int policies = args.integer("policies", 5);
        int revisions = args.integer("revisions", 40);
        int policyKb = args.integer("policy-kb", 250);
        int reps = args.integer("reps", 11);
        Path work = Path.of(args.get("work-dir", "/tmp/fleet-bench-store-search"));
        UploadBench.deleteTree(work);
        Files.createDirectories(work);
        Map<String, Query> searches = new LinkedHashMap<>();
        searches.put("agents page (active, newest 50)", Query.where().term("active", true).sortDesc("enrolled_at").size(50));
        searches.put("one host name", Query.where().term("active", true)
                .term("local_metadata.host.hostname", "bench-host-" + agents / 2).sortDesc("enrolled_at").size(50));
        searches.put("one policy every agent is on", Query.where().term("policy_id", "default").size(10_000));
        searches.put("every agent", Query.where().size(10_000));
        String policyList = "policy list (latest revision of each policy)";
        ObjectNode result = JSON.createObjectNode();
        result.put("agents", agents);
        result.put("reps", reps);
        result.put("policies", policies);
        result.put("revisions", revisions);
        result.put("policyKb", policyKb);
        try (SqliteDocumentStore store = SqliteDocumentStore.open(work)) {
            List<WriteOp> docs = new ArrayList<>();
            for (int i = 0; i < agents; i++) {
                docs.add(new WriteOp.Create(FleetIndex.AGENTS, "agent-" + i, agent(i)));
            }
            store.bulk(docs).get(10, TimeUnit.MINUTES);
            for (int r = 1; r <= revisions; r++) {
                List<WriteOp> revs = new ArrayList<>();
                for (int p = 0; p < policies; p++) {
                    revs.add(new WriteOp.Create(FleetIndex.POLICIES, "policy-" + p + ":" + r, revision(p, r, policyKb)));
                }
                store.bulk(revs).get(10, TimeUnit.MINUTES);
            }
            FleetRepository repo = new FleetRepository(store);
            // Unmeasured rounds first, so that what the JIT has compiled does not depend on which search came first.
            for (int r = 0; r < WARM_UP_ROUNDS; r++) {
                for (Query q : searches.values()) {
                    store.search(FleetIndex.AGENTS, q).get(5, TimeUnit.MINUTES);
                }
                repo.latestPolicies().get(5, TimeUnit.MINUTES);
            }
            // Searches taken in turn within each round, so drift over the run spreads over all of them.
            Map<String, double[]> millis = new LinkedHashMap<>();
            searches.keySet().forEach(name -> millis.put(name, new double[reps]));
            millis.put(policyList, new double[reps]);
            for (int r = 0; r < reps; r++) {
                for (Map.Entry<String, Query> search : searches.entrySet()) {
                    System.gc();
                    long start = System.nanoTime();
                    int hits = store.search(FleetIndex.AGENTS, search.getValue()).get(5, TimeUnit.MINUTES).size();
                    millis.get(search.getKey())[r] = (System.nanoTime() - start) / 1e6;
                    if (hits == 0) {
                        throw new IllegalStateException(search.getKey() + " found nothing");
                    }
                }
                System.gc();
                long start = System.nanoTime();
                Map<String, PolicyRevision> latest = repo.latestPolicies().get(5, TimeUnit.MINUTES);
                millis.get(policyList)[r] = (System.nanoTime() - start) / 1e6;
                if (latest.size() != policies || latest.values().stream().anyMatch(p -> p.revisionIdx() != revisions)) {
                    throw new IllegalStateException("the policy list read the wrong revisions: " + latest.keySet());
                }
            }
            ObjectNode medians = result.putObject("medianMillis");
            millis.forEach((name, xs) -> {
                Arrays.sort(xs);
                medians.put(name, Math.round(xs[reps / 2] * 10) / 10.0);
            });
        } finally {
            UploadBench.deleteTree(work);
        }
        String text = JSON.writeValueAsString(result);
        System.out.println(text);
        String out = args.get("out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out);
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            Files.writeString(file, text + "\n");
        }
    }

    /** A policy revision as the store keeps it, its inputs padded to about {@code kb} KiB. */
    private static ObjectNode revision(int policy, int revision, int kb) {
        ObjectNode d = JSON.createObjectNode();
        d.put("policy_id", "policy-" + policy).put("revision_idx", revision).put("coordinator_idx", 1)
                .put("@timestamp", "2026-01-01T00:00:00Z").put("default_fleet_server", false);
        ObjectNode data = d.putObject("data");
        data.put("id", "policy-" + policy).put("revision", revision);
        ArrayNode inputs = data.putArray("inputs");
        String padding = "x".repeat(1000);
        for (int i = 0; i < kb; i++) {
            inputs.addObject().put("id", "input-" + i).put("type", "filestream").putArray("streams").addObject()
                    .put("id", "stream-" + i).put("paths", "/var/log/app-" + i + "/*.log").put("processors", padding);
        }
        return d;
    }

    private static ObjectNode agent(int i) {
        ObjectNode d = JSON.createObjectNode();
        d.put("active", true).put("policy_id", "default").put("policy_revision_idx", 1)
                .put("enrolled_at", String.format("2026-01-01T%02d:%02d:%02d.%03dZ", i / 3_600_000 % 24, i / 60_000 % 60,
                        i / 1000 % 60, i % 1000))
                .put("last_checkin", "2026-12-02T00:00:00Z").put("last_checkin_status", "online").put("type", "PERMANENT");
        ObjectNode local = d.putObject("local_metadata");
        local.putObject("host").put("hostname", "bench-host-" + i).put("id", UUID.randomUUID().toString())
                .put("architecture", "x86_64");
        local.putObject("os").put("family", "debian").put("name", "Debian GNU/Linux").put("version", "12");
        local.putObject("elastic").putObject("agent").put("version", "9.6.0").put("id", "agent-" + i).put("snapshot", false);
        d.putObject("agent").put("version", "9.6.0").put("id", "agent-" + i);
        ArrayNode components = d.putArray("components");
        for (int c = 0; c < 6; c++) {
            ObjectNode component = components.addObject().put("id", "filestream-" + c).put("type", "filestream")
                    .put("status", "HEALTHY").put("message", "Healthy: communicating with pid '" + (1000 + c) + "'");
            component.putArray("units").addObject().put("id", "filestream-" + c + "-unit").put("type", "input")
                    .put("status", "HEALTHY").put("message", "healthy");
        }
        return d;
    }
}
