package dev.fleetserver.netty.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.fleetserver.core.util.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metrics listener ({@code http.enabled/host/port}, default off, {@code localhost:5066}): {@code GET /metrics}
 * in Prometheus text format and {@code GET /stats} as JSON. The JDK's own HTTP server on one daemon thread: scrapes
 * are rare and small, and keeping them off the agent API's event loops means a slow scraper never delays an agent.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final ExecutorService executor;

    private MetricsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Binds and starts serving; fails with the bind error (e.g. port taken). */
    public static MetricsServer start(String host, int port, DaemonMetrics metrics) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fleet-metrics");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", exchange -> {
            try (exchange) {
                serve(exchange, metrics);
            } catch (RuntimeException e) {
                LOG.warn("metrics request failed", e);
            }
        });
        server.start();
        MetricsServer started = new MetricsServer(server, executor);
        LOG.info("metrics on http://{}:{}/metrics and /stats", host, started.port());
        return started;
    }

    private static void serve(HttpExchange exchange, DaemonMetrics metrics) throws IOException {
        String path = exchange.getRequestURI().getPath();
        boolean get = "GET".equals(exchange.getRequestMethod()) || "HEAD".equals(exchange.getRequestMethod());
        if ("/metrics".equals(path) && get) {
            send(exchange, 200, PROMETHEUS_TEXT, metrics.scrape().getBytes(StandardCharsets.UTF_8));
        } else if ("/stats".equals(path) && get) {
            send(exchange, 200, "application/json; charset=utf-8", Json.bytes(metrics.stats()));
        } else if ("/metrics".equals(path) || "/stats".equals(path)) {
            exchange.getResponseHeaders().set("Allow", "GET, HEAD");
            send(exchange, 405, "text/plain; charset=utf-8", "405 method not allowed\n".getBytes(StandardCharsets.UTF_8));
        } else {
            send(exchange, 404, "text/plain; charset=utf-8", "404 page not found\n".getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        boolean head = "HEAD".equals(exchange.getRequestMethod());
        exchange.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
