package dev.fleetserver.netty.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.netty.config.SslConfig;
import dev.fleetserver.netty.config.SslConfig.ClientAuthentication;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The TLS listener with both engines: handshakes, client certificates, protocols, key formats, reload. */
class ServerTlsTest {
    @TempDir
    Path dir;
    TestCertificates.Issued ca;
    TestCertificates.Issued serverCert;
    Path certFile;
    Path keyFile;
    Path caFile;

    static Stream<SslProvider> engines() {
        return OpenSsl.isAvailable() ? Stream.of(SslProvider.JDK, SslProvider.OPENSSL) : Stream.of(SslProvider.JDK);
    }

    @BeforeEach
    void pki() throws IOException {
        ca = TestCertificates.ca("Test CA");
        serverCert = TestCertificates.server(ca);
        certFile = Files.writeString(dir.resolve("server.crt"), TestCertificates.pem(serverCert.certificate()));
        keyFile = Files.writeString(dir.resolve("server.key"), TestCertificates.pkcs8(serverCert.key()));
        caFile = Files.writeString(dir.resolve("ca.crt"), TestCertificates.pem(ca.certificate()));
    }

    private SslConfig config(ClientAuthentication auth, List<String> protocols) {
        return new SslConfig(true, certFile.toString(), keyFile.toString(), null, null,
                auth == ClientAuthentication.NONE ? List.of() : List.of(caFile.toString()), auth, protocols, List.of(),
                false, SslConfig.DEFAULT_RELOAD_INTERVAL);
    }

    @Test
    void theOpenSslEngineLoadsOnLinuxX86() {
        if (System.getProperty("os.name").startsWith("Linux") && System.getProperty("os.arch").equals("amd64")) {
            assertThat(OpenSsl.isAvailable()).as("netty-tcnative: %s", OpenSsl.unavailabilityCause()).isTrue();
            assertThat(ServerTls.preferredProvider()).isEqualTo(SslProvider.OPENSSL);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aClientTrustingTheCaCompletesTheHandshakeAndGetsAnswers(SslProvider engine) throws Exception {
        try (TlsTestServer server = TlsTestServer.start(config(ClientAuthentication.NONE, List.of()), engine);
             TlsProbe probe = TlsProbe.connect(server.port(), TestCertificates.clientContext(ca, null))) {
            assertThat(server.tls.provider()).isEqualTo(engine);
            assertThat(probe.serverSerial()).isEqualTo(serverCert.serial());
            assertThat(probe.get("/hello")).isEqualTo("200 hello");
            assertThat(probe.get("/hello")).as("keep-alive over TLS").isEqualTo("200 hello");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void requiredClientAuthenticationRefusesAClientWithoutCertificateAndAcceptsOneWith(SslProvider engine) throws Exception {
        try (TlsTestServer server = TlsTestServer.start(config(ClientAuthentication.REQUIRED, List.of()), engine)) {
            assertThat(answer(server.port(), TestCertificates.clientContext(ca, null))).isNull();
            TestCertificates.Issued otherCa = TestCertificates.ca("Other CA");
            assertThat(answer(server.port(), TestCertificates.clientContext(ca, TestCertificates.client(otherCa, "stranger"))))
                    .as("a certificate from another CA").isNull();
            assertThat(answer(server.port(), TestCertificates.clientContext(ca, TestCertificates.client(ca, "agent-1"))))
                    .isEqualTo("200 hello");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void optionalClientAuthenticationAcceptsClientsWithAndWithoutCertificates(SslProvider engine) throws Exception {
        try (TlsTestServer server = TlsTestServer.start(config(ClientAuthentication.OPTIONAL, List.of()), engine)) {
            assertThat(answer(server.port(), TestCertificates.clientContext(ca, null))).isEqualTo("200 hello");
            assertThat(answer(server.port(), TestCertificates.clientContext(ca, TestCertificates.client(ca, "agent-1"))))
                    .isEqualTo("200 hello");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aTls12OnlyClientCannotTalkToATls13OnlyServer(SslProvider engine) throws Exception {
        try (TlsTestServer server = TlsTestServer.start(config(ClientAuthentication.NONE, List.of("TLSv1.3")), engine)) {
            SSLContext client = TestCertificates.clientContext(ca, null);
            assertThatThrownBy(() -> TlsProbe.connect(server.port(), client, "TLSv1.2").close())
                    .isInstanceOf(IOException.class);
            try (TlsProbe probe = TlsProbe.connect(server.port(), client, "TLSv1.3")) {
                assertThat(probe.protocol()).isEqualTo("TLSv1.3");
                assertThat(probe.get("/hello")).isEqualTo("200 hello");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void cipherSuitesRestrictTls12(SslProvider engine) throws Exception {
        SslConfig base = config(ClientAuthentication.NONE, List.of("TLSv1.2"));
        SslConfig config = new SslConfig(true, base.certificate(), base.key(), null, null, List.of(),
                ClientAuthentication.NONE, List.of("TLSv1.2"), List.of("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
                false, SslConfig.DEFAULT_RELOAD_INTERVAL);
        try (TlsTestServer server = TlsTestServer.start(config, engine);
             TlsProbe probe = TlsProbe.connect(server.port(), TestCertificates.clientContext(ca, null))) {
            assertThat(probe.get("/hello")).isEqualTo("200 hello");
            assertThat(probe.cipherSuite()).isEqualTo("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void keysInEveryCommonPemFormatAreRead(SslProvider engine) throws Exception {
        var rsa = TestCertificates.server(ca, TestCertificates.rsaKeys());
        var ec = TestCertificates.server(ca, TestCertificates.ecKeys());
        Files.writeString(dir.resolve("pass"), "s3cret\n");
        record Case(String name, TestCertificates.Issued cert, String key, String passphrase, Path passphraseFile) {
        }
        List<Case> cases = List.of(
                new Case("PKCS#1 RSA", rsa, TestCertificates.traditional(rsa.keys()), null, null),
                new Case("SEC1 EC", ec, TestCertificates.traditional(ec.keys()), null, null),
                new Case("encrypted PKCS#8", rsa, TestCertificates.encryptedPkcs8(rsa.key(), "s3cret"), "s3cret", null),
                new Case("DEK-Info encrypted PKCS#1, passphrase file", rsa,
                        TestCertificates.traditionalEncrypted(rsa.keys(), "s3cret"), null, dir.resolve("pass")));
        List<String> failures = new ArrayList<>();
        for (Case c : cases) {
            Files.writeString(certFile, TestCertificates.pem(c.cert().certificate()));
            Files.writeString(keyFile, c.key());
            SslConfig config = new SslConfig(true, certFile.toString(), keyFile.toString(), c.passphrase(),
                    c.passphraseFile(), List.of(), ClientAuthentication.NONE, List.of(), List.of(), false,
                    SslConfig.DEFAULT_RELOAD_INTERVAL);
            try (TlsTestServer server = TlsTestServer.start(config, engine);
                 TlsProbe probe = TlsProbe.connect(server.port(), TestCertificates.clientContext(ca, null))) {
                if (!probe.serverSerial().equals(c.cert().serial()) || !probe.get("/hello").equals("200 hello")) {
                    failures.add(c.name() + ": wrong answer");
                }
            } catch (Exception e) {
                failures.add(c.name() + ": " + e);
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void inlinePemWorksAsWellAsFiles() throws Exception {
        SslConfig config = new SslConfig(true, TestCertificates.pem(serverCert.certificate()),
                TestCertificates.pkcs8(serverCert.key()), null, null, List.of(), ClientAuthentication.NONE, List.of(),
                List.of(), true, SslConfig.DEFAULT_RELOAD_INTERVAL);
        try (TlsTestServer server = TlsTestServer.start(config, ServerTls.preferredProvider())) {
            assertThat(answer(server.port(), TestCertificates.clientContext(ca, null))).isEqualTo("200 hello");
        }
    }

    @Test
    void aWrongPassphraseOrAKeyOfAnotherCertificateStopsTheStartWithAClearMessage() throws Exception {
        Files.writeString(keyFile, TestCertificates.encryptedPkcs8(serverCert.key(), "right"));
        SslConfig wrongPassphrase = new SslConfig(true, certFile.toString(), keyFile.toString(), "wrong", null,
                List.of(), ClientAuthentication.NONE, List.of(), List.of(), false, SslConfig.DEFAULT_RELOAD_INTERVAL);
        assertThatThrownBy(() -> ServerTls.start(wrongPassphrase, null)).hasMessageContaining("ssl.key")
                .hasMessageContaining("passphrase");

        Files.writeString(keyFile, TestCertificates.pkcs8(TestCertificates.ecKeys().getPrivate()));
        assertThatThrownBy(() -> ServerTls.start(config(ClientAuthentication.NONE, List.of()), null))
                .hasMessage("ssl.key does not belong to the certificate in ssl.certificate");

        Files.delete(keyFile);
        assertThatThrownBy(() -> ServerTls.start(config(ClientAuthentication.NONE, List.of()), null))
                .hasMessageContaining("ssl.key: cannot read " + keyFile);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aReplacedCertificateIsPickedUpByNewConnectionsWhileOpenOnesKeepWorking(SslProvider engine) throws Exception {
        SslConfig base = config(ClientAuthentication.NONE, List.of());
        SslConfig watched = new SslConfig(true, base.certificate(), base.key(), null, null, List.of(),
                ClientAuthentication.NONE, List.of(), List.of(), true, Duration.ofMillis(50));
        SSLContext client = TestCertificates.clientContext(ca, null);
        try (TlsTestServer server = TlsTestServer.start(watched, engine);
             TlsProbe old = TlsProbe.connect(server.port(), client)) {
            assertThat(old.get("/hello")).isEqualTo("200 hello");

            TestCertificates.Issued renewed = TestCertificates.server(ca);
            // Key first, then certificate: in between the pair does not match and must not be used.
            TestCertificates.writeAtomically(keyFile, TestCertificates.pkcs8(renewed.key()));
            TestCertificates.writeAtomically(certFile, TestCertificates.pem(renewed.certificate()));

            BigInteger seen = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline && !renewed.serial().equals(seen)) {
                try (TlsProbe fresh = TlsProbe.connect(server.port(), client)) {
                    seen = fresh.serverSerial();
                    assertThat(fresh.get("/hello")).isEqualTo("200 hello");
                }
            }
            assertThat(seen).isEqualTo(renewed.serial());
            assertThat(old.serverSerial()).isEqualTo(serverCert.serial());
            assertThat(old.get("/hello")).as("the connection opened before the reload").isEqualTo("200 hello");
        }
    }

    @Test
    void aBrokenNewCertificateIsRefusedAndTheOldOneStaysInService() throws Exception {
        SSLContext client = TestCertificates.clientContext(ca, null);
        try (TlsTestServer server = TlsTestServer.start(config(ClientAuthentication.NONE, List.of()),
                ServerTls.preferredProvider())) {
            Files.writeString(certFile, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
            assertThat(server.tls.reloadIfChanged()).isFalse();
            assertThat(server.tls.reloadIfChanged()).as("the same broken files again").isFalse();
            Files.delete(keyFile);
            assertThat(server.tls.reloadIfChanged()).isFalse();
            try (TlsProbe probe = TlsProbe.connect(server.port(), client)) {
                assertThat(probe.serverSerial()).isEqualTo(serverCert.serial());
                assertThat(probe.get("/hello")).isEqualTo("200 hello");
            }

            TestCertificates.Issued renewed = TestCertificates.server(ca);
            Files.writeString(certFile, TestCertificates.pem(renewed.certificate()));
            Files.writeString(keyFile, TestCertificates.pkcs8(renewed.key()));
            assertThat(server.tls.reloadIfChanged()).isTrue();
            assertThat(server.tls.reloadIfChanged()).as("nothing changed since").isFalse();
            try (TlsProbe probe = TlsProbe.connect(server.port(), client)) {
                assertThat(probe.serverSerial()).isEqualTo(renewed.serial());
            }
        }
    }

    @Test
    void aReconnectingClientResumesItsSessionAlsoAfterTheServerRestartsWithTheSameKeyFile() throws Exception {
        Assumptions.assumeTrue(OpenSsl.isAvailable(), "session tickets are set on the OpenSSL engine");
        Path keys = dir.resolve("tls-session-tickets");
        SslConfig config = config(ClientAuthentication.NONE, List.of());
        SSLContext client = TestCertificates.clientContext(ca, null);
        int port;
        try (TlsTestServer server = TlsTestServer.start(config, SslProvider.OPENSSL, keys, 0)) {
            port = server.port();
            handshakeAndAsk(port, client);
            assertThat(server.tls.resumedHandshakes()).as("a first connection is a full handshake").isZero();
            handshakeAndAsk(port, client);
            assertThat(server.tls.resumedHandshakes()).isEqualTo(1);
            assertThat(server.tls.stats()).isEqualTo(new ServerTls.Stats("openssl", 2, 1, 0));
        }
        assertThat(Files.getPosixFilePermissions(keys)).containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ,
                PosixFilePermission.OWNER_WRITE);
        try (TlsTestServer restarted = TlsTestServer.start(config, SslProvider.OPENSSL, keys, port)) {
            handshakeAndAsk(port, client);
            assertThat(restarted.tls.resumedHandshakes()).as("a ticket of the previous process").isEqualTo(1);
        }
    }

    @Test
    void withoutAKeyFileARestartedServerMakesEveryClientDoAFullHandshake() throws Exception {
        Assumptions.assumeTrue(OpenSsl.isAvailable(), "session tickets are set on the OpenSSL engine");
        SslConfig config = config(ClientAuthentication.NONE, List.of());
        SSLContext client = TestCertificates.clientContext(ca, null);
        int port;
        try (TlsTestServer server = TlsTestServer.start(config, SslProvider.OPENSSL, null, 0)) {
            port = server.port();
            handshakeAndAsk(port, client);
            handshakeAndAsk(port, client);
            assertThat(server.tls.resumedHandshakes()).isEqualTo(1);
        }
        try (TlsTestServer restarted = TlsTestServer.start(config, SslProvider.OPENSSL, null, port)) {
            handshakeAndAsk(port, client);
            assertThat(restarted.tls.resumedHandshakes()).isZero();
        }
    }

    /** One connection, one request: the answer is read, so the client has the tickets sent after the handshake. */
    private static void handshakeAndAsk(int port, SSLContext client) throws IOException {
        try (TlsProbe probe = TlsProbe.connect(port, client)) {
            assertThat(probe.get("/hello")).isEqualTo("200 hello");
        }
    }

    @Test
    void aHandshakeMayTakeAsLongAsTheReadTimeoutNotNettysTenSeconds() throws Exception {
        try (ServerTls tls = ServerTls.start(config(ClientAuthentication.NONE, List.of()), ServerTls.preferredProvider(), null)) {
            io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel();
            tls.addTo(ch, Duration.ofSeconds(60));
            assertThat(ch.pipeline().get(io.netty.handler.ssl.SslHandler.class).getHandshakeTimeoutMillis()).isEqualTo(60_000);
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void plainHttpSentToTheTlsPortIsToldSoInClearAndClosed() throws Exception {
        try (TlsTestServer server = TlsTestServer.start(config(ClientAuthentication.NONE, List.of()),
                ServerTls.preferredProvider());
             Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] answer = in.readAllBytes();
            assertThat(new String(answer, StandardCharsets.ISO_8859_1)).isEqualTo(
                    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
        }
    }

    /** The answer to {@code GET /hello} on a new connection, or null when the TLS connection was refused. */
    private static String answer(int port, SSLContext client) {
        try (TlsProbe probe = TlsProbe.connect(port, client)) {
            return probe.get("/hello");
        } catch (IOException e) {
            return null;
        }
    }
}
