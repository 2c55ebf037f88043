package dev.fleetserver.bench;

import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The real test Elasticsearch ({@link ElasticsearchTestCluster}, the same node the e2e tests start) for the bench
 * runner: starts a fresh node, prints one JSON line {@code {"event":"es","uri":..,"serviceToken":..,"adminAuthorization":..}},
 * and stops it (deleting its data) at end of stdin or after {@code maxSeconds} (first argument, default 3600).
 * Stdin lines {@code stop-node} and {@code start-node} stop the node keeping its data and ports, and start it again
 * (waiting until it is ready); each prints {@code {"event":"es-node","state":"stopped"|"started"|"failed",...}}.
 * In test sources because the harness is a test-jar; run with
 * {@code java -cp bench/target/test-classes:fleet-server-es/target/test-classes dev.fleetserver.bench.EsNode 3600}.
 */
public final class EsNode {
    private EsNode() {
    }

    public static void main(String[] args) throws Exception {
        long maxSeconds = args.length > 0 ? Long.parseLong(args[0]) : 3600;
        ElasticsearchTestCluster es = ElasticsearchTestCluster.startNew();
        Thread stopper = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    // Until the runner closes stdin or dies.
                    command(es, line.trim());
                }
            } catch (Exception e) {
                // Stdin gone: stop.
            }
            es.stop();
            System.exit(0);
        }, "es-stdin");
        stopper.setDaemon(true);
        stopper.start();
        System.out.println("{\"event\":\"es\",\"uri\":\"" + es.httpUri() + "\",\"serviceToken\":\"" + es.serviceToken()
                + "\",\"adminAuthorization\":\"" + es.adminAuthorization() + "\",\"version\":\"" + es.version() + "\"}");
        System.out.flush();
        stopper.join(TimeUnit.SECONDS.toMillis(maxSeconds));
        es.stop();
        System.exit(0);
    }

    /** One stdin command: an outage of the node on the same data, or its end. Prints what happened. */
    private static void command(ElasticsearchTestCluster es, String line) {
        long t0 = System.nanoTime();
        String state;
        String detail = "";
        try {
            switch (line) {
                case "stop-node" -> {
                    es.stopNode();
                    state = "stopped";
                }
                case "start-node" -> {
                    es.startNode();
                    state = "started";
                }
                default -> {
                    return;
                }
            }
        } catch (RuntimeException e) {
            state = "failed";
            detail = e.toString().replaceAll("[\"\\\\\\s]+", " ");
        }
        System.out.println("{\"event\":\"es-node\",\"state\":\"" + state + "\",\"millis\":"
                + (System.nanoTime() - t0) / 1_000_000 + ",\"detail\":\"" + detail + "\"}");
        System.out.flush();
    }
}
