package dev.fleetserver.es.client;

import dev.fleetserver.core.FleetVersion;
import dev.fleetserver.core.metrics.FleetMetrics;
import dev.fleetserver.core.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.hc.client5.http.async.methods.SimpleHttpRequest;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.client5.http.ssl.ClientTlsStrategyBuilder;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.reactor.IOReactorConfig;
import org.apache.hc.core5.util.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one HTTP client to Elasticsearch: asynchronous, several hosts tried in rotation, a host that fails is skipped
 * for a growing while (1 s doubling to 60 s), and a request is retried on another host only when that is safe —
 * always when the connection could not be made, otherwise only for reads and on 502/503/504. Every request carries
 * the service token, {@code X-elastic-product-origin: fleet} and a Fleet Server User-Agent.
 */
public final class EsClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EsClient.class);
    private static final Duration MIN_DEAD = Duration.ofSeconds(1);
    private static final Duration MAX_DEAD = Duration.ofSeconds(60);
    /** Passes over the host list before giving up, with a doubling pause between passes (0.25 s, 0.5 s, 1 s). */
    private static final int ROUNDS = 4;
    private static final Duration FIRST_ROUND_DELAY = Duration.ofMillis(250);

    private final CloseableHttpAsyncClient http;
    private final List<URI> hosts;
    private final String authorization;
    private final Map<String, String> headers;
    private final Duration timeout;
    private final AtomicInteger next = new AtomicInteger();
    private final Map<URI, Dead> dead = new ConcurrentHashMap<>();
    private final FleetMetrics metrics;

    private record Dead(long untilNanos, Duration backoff) {
    }

    /**
     * A request: method, path with query, optional body, whether it may be replayed, and the media type asked for
     * ({@code Accept}; null for JSON).
     */
    public record Request(String method, String path, byte[] body, String contentType, boolean safeToRetry,
                          Duration timeout, String authorization, String accept) {
        public static Request get(String path) {
            return new Request("GET", path, null, null, true, null, null, null);
        }

        public static Request read(String method, String path, byte[] json) {
            return new Request(method, path, json, "application/json", true, null, null, null);
        }

        public static Request write(String method, String path, byte[] json) {
            return new Request(method, path, json, "application/json", false, null, null, null);
        }

        public Request withTimeout(Duration t) {
            return new Request(method, path, body, contentType, safeToRetry, t, authorization, accept);
        }

        /** Sent with this Authorization instead of the service token (API-key authentication). */
        public Request as(String auth) {
            return new Request(method, path, body, contentType, safeToRetry, timeout, auth, accept);
        }

        public Request ndjson() {
            return new Request(method, path, body, "application/x-ndjson", safeToRetry, timeout, authorization, accept);
        }

        /** Asks for the answer in another media type, e.g. {@code application/cbor}. */
        public Request accepting(String mediaType) {
            return new Request(method, path, body, contentType, safeToRetry, timeout, authorization, mediaType);
        }
    }

    public EsClient(EsConfig config) {
        this(config, FleetMetrics.NONE);
    }

    /** @param metrics told about every request (latency, status) as {@link #send} completes it */
    public EsClient(EsConfig config, FleetMetrics metrics) {
        this.metrics = metrics;
        this.hosts = config.hosts().stream().map(h -> normalize(h, config.protocol())).toList();
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("output.elasticsearch.hosts is empty");
        }
        this.authorization = "Bearer " + config.serviceToken();
        this.headers = Map.copyOf(config.headers());
        this.timeout = config.timeout();
        PoolingAsyncClientConnectionManagerBuilder cm = PoolingAsyncClientConnectionManagerBuilder.create()
                .setMaxConnPerRoute(128)
                .setMaxConnTotal(256)
                .setDefaultConnectionConfig(ConnectionConfig.custom()
                        .setConnectTimeout(Timeout.ofSeconds(5))
                        .setSocketTimeout(Timeout.ofMinutes(10))
                        .build());
        if (!config.caFiles().isEmpty()) {
            cm.setTlsStrategy(ClientTlsStrategyBuilder.create().setSslContext(sslContext(config.caFiles())).build());
        }
        this.http = HttpAsyncClients.custom()
                .setConnectionManager(cm.build())
                .setIOReactorConfig(IOReactorConfig.custom().setIoThreadCount(2).build())
                .disableAutomaticRetries()
                .disableRedirectHandling()
                .build();
        http.start();
    }

    static URI normalize(String host, String protocol) {
        String h = host.contains("://") ? host : (protocol == null || protocol.isEmpty() ? "http" : protocol) + "://" + host;
        while (h.endsWith("/")) {
            h = h.substring(0, h.length() - 1);
        }
        return URI.create(h);
    }

    /**
     * Sends a request. Completes with any HTTP answer except 502/503/504 (retried while hosts remain); fails with
     * {@link StoreException.Unavailable} when no host could answer.
     */
    public CompletableFuture<EsResponse> send(Request request) {
        CompletableFuture<EsResponse> result = new CompletableFuture<>();
        attempt(request, orderedHosts(), 0, null, new Outcome(request, System.nanoTime(), result), 0);
        return result;
    }

    /**
     * Where one request's answer goes: its metrics are recorded before its future completes, so whoever sees the
     * answer also sees it counted.
     */
    private final class Outcome {
        private final Request request;
        private final long startNanos;
        private final CompletableFuture<EsResponse> future;

        Outcome(Request request, long startNanos, CompletableFuture<EsResponse> future) {
            this.request = request;
            this.startNanos = startNanos;
            this.future = future;
        }

        void complete(EsResponse response) {
            try {
                record(response.status());
            } finally {
                future.complete(response);
            }
        }

        void fail(Throwable error) {
            try {
                record(-1);
            } finally {
                future.completeExceptionally(error);
            }
        }

        private void record(int status) {
            metrics.elasticsearchRequest(FleetMetrics.elasticsearchApi(request.path()), status, System.nanoTime() - startNanos);
        }
    }

    private List<URI> orderedHosts() {
        int start = Math.floorMod(next.getAndIncrement(), hosts.size());
        long now = System.nanoTime();
        List<URI> alive = new ArrayList<>();
        List<URI> down = new ArrayList<>();
        for (int i = 0; i < hosts.size(); i++) {
            URI h = hosts.get((start + i) % hosts.size());
            Dead d = dead.get(h);
            (d == null || d.untilNanos <= now ? alive : down).add(h);
        }
        // When every host looks dead, try them anyway (oldest marking first would be nicer; any order will do).
        alive.addAll(down);
        return alive;
    }

    private void attempt(Request request, List<URI> order, int i, Throwable last, Outcome result, int round) {
        if (i >= order.size()) {
            if (round + 1 < ROUNDS && retryableAgain(request, last)) {
                // Every host failed: a short outage (a shard still allocating, a node restarting) often passes.
                long delay = FIRST_ROUND_DELAY.toMillis() << round;
                delay += ThreadLocalRandom.current().nextLong(delay / 2 + 1);
                CompletableFuture.delayedExecutor(delay, java.util.concurrent.TimeUnit.MILLISECONDS)
                        .execute(() -> attempt(request, orderedHosts(), 0, last, result, round + 1));
                return;
            }
            result.fail(new StoreException.Unavailable(
                    "Elasticsearch unavailable: " + (last == null ? "no host" : last.getMessage()), last));
            return;
        }
        URI host = order.get(i);
        SimpleRequestBuilder b = SimpleRequestBuilder.create(request.method())
                .setUri(URI.create(host + request.path()))
                .addHeader("Authorization", request.authorization() != null ? request.authorization() : authorization)
                .addHeader("X-elastic-product-origin", "fleet")
                .addHeader("User-Agent", "Elastic-Fleet-Server/" + FleetVersion.VERSION + " (java)")
                .addHeader("Accept", request.accept() != null ? request.accept() : "application/json");
        headers.forEach(b::addHeader);
        if (request.body() != null) {
            b.setBody(request.body(), ContentType.parse(request.contentType()));
        }
        Duration t = request.timeout() != null ? request.timeout() : timeout;
        b.setRequestConfig(RequestConfig.custom().setResponseTimeout(Timeout.ofMilliseconds(t.toMillis()))
                .setConnectionRequestTimeout(Timeout.ofSeconds(30)).build());
        SimpleHttpRequest req = b.build();
        http.execute(req, new FutureCallback<SimpleHttpResponse>() {
            @Override
            public void completed(SimpleHttpResponse r) {
                int status = r.getCode();
                if (status == 502 || status == 503 || status == 504) {
                    markDead(host);
                    if (request.safeToRetry() || status == 503) {
                        attempt(request, order, i + 1, new IOException("HTTP " + status + " from " + host + ": "
                                + new EsResponse(status, r.getBodyBytes()).describe()), result, round);
                        return;
                    }
                }
                dead.remove(host);
                result.complete(new EsResponse(status, r.getBodyBytes()));
            }

            @Override
            public void failed(Exception e) {
                markDead(host);
                // A refused connection never reached Elasticsearch: replaying it elsewhere is always safe.
                boolean notSent = e instanceof java.net.ConnectException || e instanceof java.net.UnknownHostException;
                if (request.safeToRetry() || notSent) {
                    attempt(request, order, i + 1, e, result, round);
                } else {
                    result.fail(new StoreException.Unavailable(
                            "Elasticsearch request " + request.method() + " " + request.path() + " failed: " + e, e));
                }
            }

            @Override
            public void cancelled() {
                result.fail(new StoreException.Unavailable("request cancelled", null));
            }
        });
    }

    /** Another pass is safe for reads, and for anything that never reached Elasticsearch or was refused with 503. */
    private static boolean retryableAgain(Request request, Throwable last) {
        if (request.safeToRetry()) {
            return true;
        }
        return last instanceof java.net.ConnectException || (last != null && String.valueOf(last.getMessage()).contains("HTTP 503"));
    }

    private void markDead(URI host) {
        dead.compute(host, (h, d) -> {
            Duration backoff = d == null ? MIN_DEAD : d.backoff.multipliedBy(2);
            if (backoff.compareTo(MAX_DEAD) > 0) {
                backoff = MAX_DEAD;
            }
            long jitter = ThreadLocalRandom.current().nextLong(backoff.toNanos() / 4 + 1);
            if (d == null) {
                LOG.warn("Elasticsearch host {} marked dead", h);
            }
            return new Dead(System.nanoTime() + backoff.toNanos() - jitter, backoff);
        });
    }

    static SSLContext sslContext(List<Path> caFiles) {
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            int n = 0;
            for (Path p : caFiles) {
                try (InputStream in = Files.newInputStream(p)) {
                    for (Certificate c : cf.generateCertificates(in)) {
                        ks.setCertificateEntry("ca-" + n++, c);
                    }
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot load certificate authorities " + caFiles + ": " + e.getMessage(), e);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        http.close(CloseMode.GRACEFUL);
    }
}
