package dev.fleetserver.es.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.fleetserver.core.store.StoreException;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The REST client's host rotation, retry rules, headers and TLS, against small local HTTP(S) servers. */
class EsClientTest {
    private final List<HttpServer> servers = new java.util.ArrayList<>();
    private EsClient client;

    @AfterEach
    void close() {
        if (client != null) {
            client.close();
        }
        servers.forEach(s -> s.stop(0));
    }

    @Test
    void everyRequestCarriesTheServiceTokenAndFleetHeaders() throws Exception {
        Map<String, String> seen = new ConcurrentHashMap<>();
        String host = server((ex) -> {
            seen.put("auth", ex.getRequestHeaders().getFirst("Authorization"));
            seen.put("origin", ex.getRequestHeaders().getFirst("X-elastic-product-origin"));
            seen.put("ua", ex.getRequestHeaders().getFirst("User-Agent"));
            reply(ex, 200, "{}");
        });
        client = client(List.of(host));
        assertThat(send(EsClient.Request.get("/_x")).status()).isEqualTo(200);
        assertThat(seen).containsEntry("auth", "Bearer test-token").containsEntry("origin", "fleet");
        assertThat(seen.get("ua")).startsWith("Elastic-Fleet-Server/");
    }

    @Test
    void aRefusedHostIsSkippedAndTheNextOneAnswers() throws Exception {
        AtomicInteger hits = new AtomicInteger();
        String good = server(ex -> {
            hits.incrementAndGet();
            reply(ex, 200, "{\"ok\":true}");
        });
        client = client(List.of(refusedHost(), good));
        for (int i = 0; i < 4; i++) {
            // Writes too: a refused connection never reached Elasticsearch.
            EsResponse r = send(EsClient.Request.write("POST", "/_bulk", "{}".getBytes(StandardCharsets.UTF_8)));
            assertThat(r.status()).isEqualTo(200);
        }
        assertThat(hits.get()).isEqualTo(4);
    }

    @Test
    void readsMoveOnFromA502ButOtherAnswersAreReturnedAsTheyAre() throws Exception {
        AtomicInteger badHits = new AtomicInteger();
        String bad = server(ex -> {
            badHits.incrementAndGet();
            reply(ex, 502, "{}");
        });
        String good = server(ex -> reply(ex, 404, "{\"found\":false}"));
        client = client(List.of(bad, good));
        for (int i = 0; i < 3; i++) {
            assertThat(send(EsClient.Request.get("/idx/_doc/1")).status()).isEqualTo(404);
        }
        assertThat(badHits.get()).as("a failing host is left alone for a while").isLessThanOrEqualTo(2);
    }

    @Test
    void aWriteThatMayHaveBeenAppliedIsNotReplayed() throws Exception {
        AtomicInteger hits = new AtomicInteger();
        // Accepts the request and then drops the connection without answering.
        String dropping = server(ex -> {
            hits.incrementAndGet();
            ex.getRequestBody().readAllBytes();
            ex.close();
        });
        client = client(List.of(dropping));
        assertThatThrownBy(() -> send(EsClient.Request.write("POST", "/_bulk", "{}".getBytes(StandardCharsets.UTF_8))))
                .hasCauseInstanceOf(StoreException.Unavailable.class);
        assertThat(hits.get()).isEqualTo(1);
    }

    @Test
    void aShortOutageOfEveryHostIsRiddenOutForReads() throws Exception {
        AtomicInteger hits = new AtomicInteger();
        String flaky = server(ex -> reply(ex, hits.incrementAndGet() <= 2 ? 503 : 200, "{}"));
        client = client(List.of(flaky));
        assertThat(send(EsClient.Request.get("/_cluster/health")).status()).isEqualTo(200);
        assertThat(hits.get()).isEqualTo(3);
    }

    @Test
    void noAnswerFromAnyHostIsUnavailable() {
        client = client(List.of(refusedHost(), refusedHost()));
        assertThatThrownBy(() -> send(EsClient.Request.get("/")))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(StoreException.Unavailable.class);
    }

    @Test
    void httpsHostsAreTrustedThroughTheConfiguredCertificateAuthority(@TempDir Path dir) throws Exception {
        Path keystore = dir.resolve("server.p12");
        Path ca = dir.resolve("ca.pem");
        keytool("-genkeypair", "-alias", "es", "-keyalg", "EC", "-keystore", keystore.toString(), "-storetype", "PKCS12",
                "-storepass", "secret", "-dname", "CN=localhost", "-ext", "san=ip:127.0.0.1", "-validity", "2");
        keytool("-exportcert", "-rfc", "-alias", "es", "-keystore", keystore.toString(), "-storepass", "secret",
                "-file", ca.toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(keystore.toFile())) {
            ks.load(in, "secret".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "secret".toCharArray());
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf.getKeyManagers(), null, null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(ssl));
        https.createContext("/", ex -> reply(ex, 200, "{\"tls\":true}"));
        https.start();
        servers.add(https);

        client = new EsClient(new EsConfig(List.of("127.0.0.1:" + https.getAddress().getPort()), "https", "test-token",
                List.of(ca), Map.of(), Duration.ofSeconds(5)));
        EsResponse r = send(EsClient.Request.get("/"));
        assertThat(r.json().get("tls").asBoolean()).isTrue();
    }

    private EsResponse send(EsClient.Request request) throws Exception {
        return client.send(request).get(30, TimeUnit.SECONDS);
    }

    private static EsClient client(List<String> hosts) {
        return new EsClient(new EsConfig(hosts, "http", "test-token", List.of(), Map.of(), Duration.ofSeconds(5)));
    }

    private String server(com.sun.net.httpserver.HttpHandler handler) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.createContext("/", handler);
        s.start();
        servers.add(s);
        return "http://127.0.0.1:" + s.getAddress().getPort();
    }

    /** A loopback port nobody listens on. */
    private static String refusedHost() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + s.getLocalPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getRequestBody().readAllBytes();
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
    }
}
