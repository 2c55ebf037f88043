package dev.fleetserver.es.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.fleetserver.core.apikey.FleetRoles;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsConfig;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** API-key calls (not batchable) run at most N at a time; callers past the bound wait their turn, none is lost. */
class EsApiKeysBoundTest {

    @Test
    void noMoreThanTheBoundRunAtOnceAndEveryCallerIsServed() throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        AtomicInteger created = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/", ex -> {
            peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            ex.getRequestBody().readAllBytes();
            // Hold the request open briefly so that concurrent callers would overlap if the bound failed.
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            byte[] b = ("{\"id\":\"k" + created.incrementAndGet() + "\",\"api_key\":\"s\"}").getBytes(StandardCharsets.UTF_8);
            inFlight.decrementAndGet();
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        try (EsClient client = new EsClient(new EsConfig(List.of("http://127.0.0.1:" + server.getAddress().getPort()), "http",
                "t", List.of(), Map.of(), Duration.ofSeconds(10)))) {
            EsApiKeys keys = new EsApiKeys(client, 2);
            List<CompletableFuture<?>> calls = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                calls.add(keys.create("agent-" + i, FleetRoles.access(), Json.object()));
            }
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertThat(created.get()).isEqualTo(10);
            assertThat(peak.get()).isLessThanOrEqualTo(2);
        } finally {
            server.stop(0);
        }
    }
}
