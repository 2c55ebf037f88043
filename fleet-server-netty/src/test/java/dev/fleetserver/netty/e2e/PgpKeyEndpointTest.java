package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.fleetserver.netty.tls.TestCertificates;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /api/agents/upgrades/{major}.{minor}.{patch}/pgp-public-key}: only over TLS, no authentication, the key
 * from {@code <pgp.dir>/default.pgp} (mode 0600) or else from {@code pgp.upstream_url}.
 */
class PgpKeyEndpointTest {
    static final String KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF test key\n-----END PGP PUBLIC KEY BLOCK-----\n";
    static final String PATH = "/api/agents/upgrades/9.6.0/pgp-public-key";

    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();
    @TempDir
    Path dir;
    TestCertificates.Issued ca;
    Path keys;
    HttpServer upstream;
    final AtomicInteger upstreamStatus = new AtomicInteger(200);
    final AtomicInteger upstreamCalls = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        ca = TestCertificates.ca("PGP test CA");
        TestCertificates.Issued server = TestCertificates.server(ca);
        Files.writeString(dir.resolve("fleet.crt"), TestCertificates.pem(server.certificate()));
        Files.writeString(dir.resolve("fleet.key"), TestCertificates.pkcs8(server.key()));
        keys = dir.resolve("keys");
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        upstream.createContext("/GPG-KEY-elastic-agent", exchange -> {
            upstreamCalls.incrementAndGet();
            byte[] body = KEY.getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(upstreamStatus.get(), body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        upstream.start();
    }

    @AfterEach
    void stopUpstream() {
        upstream.stop(0);
    }

    private AgentClient start(boolean tls) throws Exception {
        fleet.start(server -> {
            if (tls) {
                server.putObject("ssl").put("certificate", dir.resolve("fleet.crt").toString())
                        .put("key", dir.resolve("fleet.key").toString());
            }
            server.putObject("pgp").put("dir", keys.toString())
                    .put("upstream_url", "http://127.0.0.1:" + upstream.getAddress().getPort() + "/GPG-KEY-elastic-agent");
        });
        return tls ? new AgentClient(fleet.port(), TestCertificates.clientContext(ca, null)) : new AgentClient(fleet.port());
    }

    private void writeKey(String permissions) throws Exception {
        Files.createDirectories(keys);
        Path file = Files.writeString(keys.resolve("default.pgp"), KEY);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
    }

    private AgentClient.Reply get(AgentClient agent, String path) {
        return agent.send(agent.request(path).GET().build());
    }

    @Test
    void overPlainHttpTheAnswerIsTlsRequired() throws Exception {
        writeKey("rw-------");
        AgentClient agent = start(false);
        assertError(get(agent, PATH), 501, "ErrTLSRequired", "server must run with tls to use this endpoint");
    }

    @Test
    void overTlsTheKeyFileIsServedWithoutAuthentication() throws Exception {
        writeKey("rw-------");
        AgentClient.Reply r = get(start(true), PATH);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(KEY);
        assertThat(r.header("Content-Type")).isEqualTo("text/plain; charset=utf-8");
        assertThat(upstreamCalls.get()).isZero();
    }

    @Test
    void aKeyFileReadableByOthersIsRefused() throws Exception {
        writeKey("rw-r--r--");
        assertError(get(start(true), PATH), 500, "BadRequest", "pgp key permissions are not 0600");
    }

    @Test
    void aMissingKeyFileIsDownloadedFromUpstreamWrittenWithMode0600AndThenCached() throws Exception {
        AgentClient agent = start(true);
        AgentClient.Reply r = get(agent, PATH);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(KEY);
        Path file = keys.resolve("default.pgp");
        E2eSupport.await("the key written to " + file, () -> Files.exists(file));
        assertThat(Files.readString(file)).isEqualTo(KEY);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keys))).isEqualTo("rwx------");

        assertThat(get(agent, "/api/agents/upgrades/8.0.1/pgp-public-key").body()).isEqualTo(KEY);
        assertThat(upstreamCalls.get()).isEqualTo(1);
    }

    @Test
    void aMissingKeyFileAndAFailingUpstreamIsAnError() throws Exception {
        upstreamStatus.set(404);
        assertError(get(start(true), PATH), 500, "BadRequest", "upstream http server status error: 404");
        assertThat(keys.resolve("default.pgp")).doesNotExist();
    }

    @Test
    void theVersionMustBeThreeIntegers() throws Exception {
        writeKey("rw-------");
        AgentClient agent = start(true);
        assertError(get(agent, "/api/agents/upgrades/9.x.0/pgp-public-key"), 500, "BadRequest",
                "Invalid format for parameter minor: error binding string parameter: strconv.ParseInt: parsing \"x\": invalid syntax");
        assertThat(get(agent, "/api/agents/upgrades/9.6/pgp-public-key").status()).isEqualTo(404);
        assertThat(agent.send(agent.request(PATH).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build()).status())
                .isEqualTo(405);
    }
}
