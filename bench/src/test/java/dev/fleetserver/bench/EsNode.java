package dev.fleetserver.bench;

import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.io.InputStream;
import java.util.concurrent.TimeUnit;

/**
 * The real test Elasticsearch ({@link ElasticsearchTestCluster}, the same node the e2e tests start) for the bench
 * runner: starts a fresh node, prints one JSON line {@code {"event":"es","uri":..,"serviceToken":..,"adminAuthorization":..}},
 * and stops it (deleting its data) at end of stdin or after {@code maxSeconds} (first argument, default 3600).
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
            try {
                InputStream in = System.in;
                while (in.read() >= 0) {
                    // Until the runner closes stdin or dies.
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
}
