package dev.fleetserver.es.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Change feeds use the Fleet plugin's {@code _fleet/global_checkpoints} long poll where the cluster has it, and fall
 * back to polling {@code _stats} where it does not (the test cluster has no such plugin, so a stand-in speaks here).
 */
class FleetPluginCheckpointTest {
    private HttpServer server;
    private EsClient client;
    private EsDocumentStore store;
    private final List<String> requests = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        store.close();
        client.close();
        server.stop(0);
    }

    @Test
    void withTheFleetPluginTheCheckpointIsAwaitedInOneLongPoll() throws Exception {
        start(true);
        long cp = store.awaitCheckpointAfter(".fleet-actions", 4, Duration.ofSeconds(30)).get(10, TimeUnit.SECONDS);
        assertThat(cp).isEqualTo(7);
        assertThat(requests).anyMatch(r -> r.startsWith("GET /.fleet-actions/_fleet/global_checkpoints?wait_for_advance=true")
                && r.contains("checkpoints=4"));
        assertThat(requests).noneMatch(r -> r.contains("_stats"));
    }

    @Test
    void withoutItTheCheckpointIsPolledFromShardStats() throws Exception {
        start(false);
        long cp = store.awaitCheckpointAfter(".fleet-actions", 4, Duration.ofSeconds(30)).get(10, TimeUnit.SECONDS);
        assertThat(cp).isEqualTo(7);
        assertThat(requests).anyMatch(r -> r.contains("/_stats/docs?level=shards"));
        requests.clear();
        store.awaitCheckpointAfter(".fleet-actions", 4, Duration.ofSeconds(30)).get(10, TimeUnit.SECONDS);
        assertThat(requests).as("the missing plugin is remembered").noneMatch(r -> r.contains("_fleet/global_checkpoints"));
    }

    @Test
    void feedsThatAskAtOnceAllFallBackToPollingWhenThePluginIsMissing() throws Exception {
        pluginAnswersHeldUntil = new CountDownLatch(2);
        start(false);

        var actions = store.awaitCheckpointAfter(".fleet-actions", 4, Duration.ofSeconds(30));
        var policies = store.awaitCheckpointAfter(".fleet-policies", 4, Duration.ofSeconds(30));

        // Both asked the plugin before either answer came back; neither is an outage.
        assertThat(actions.get(10, TimeUnit.SECONDS)).isEqualTo(7);
        assertThat(policies.get(10, TimeUnit.SECONDS)).isEqualTo(7);
    }

    /** When set, the stand-in holds its plugin answers until this many plugin requests have arrived. */
    private CountDownLatch pluginAnswersHeldUntil;

    private void start(boolean plugin) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", ex -> {
            String line = ex.getRequestMethod() + " " + ex.getRequestURI();
            requests.add(line);
            if (line.contains("_fleet/global_checkpoints")) {
                CountDownLatch held = pluginAnswersHeldUntil;
                if (held != null) {
                    held.countDown();
                    try {
                        held.await(5, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (plugin) {
                    reply(ex, 200, "{\"global_checkpoints\":[7],\"timed_out\":false}");
                } else {
                    reply(ex, 400, "{\"error\":\"no handler found for uri [/.fleet-actions/_fleet/global_checkpoints] and method [GET]\"}");
                }
            } else if (line.contains("_stats")) {
                String index = line.contains(".fleet-policies") ? ".fleet-policies-7" : ".fleet-actions-7";
                reply(ex, 200, "{\"indices\":{\"" + index + "\":{\"shards\":{\"0\":[{\"routing\":{\"primary\":true},"
                        + "\"seq_no\":{\"global_checkpoint\":7}}]}}}}");
            } else {
                reply(ex, 200, "{}");
            }
        });
        server.start();
        client = new EsClient(new EsConfig(List.of("http://127.0.0.1:" + server.getAddress().getPort()), "http", "t",
                List.of(), Map.of(), Duration.ofSeconds(5)));
        store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults());
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getRequestBody().readAllBytes();
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }
}
