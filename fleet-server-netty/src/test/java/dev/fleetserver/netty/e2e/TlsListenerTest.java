package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import dev.fleetserver.netty.tls.TestCertificates;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon with {@code inputs[0].server.ssl}: agents enroll, check in and ask for status over HTTPS; and with
 * {@code management.ssl}: the management API and the console over HTTPS.
 */
class TlsListenerTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();
    @TempDir
    Path dir;
    TestCertificates.Issued ca;

    @BeforeEach
    void pki() throws Exception {
        ca = TestCertificates.ca("Fleet test CA");
        TestCertificates.Issued server = TestCertificates.server(ca);
        Files.writeString(dir.resolve("fleet.crt"), TestCertificates.pem(server.certificate()));
        Files.writeString(dir.resolve("fleet.key"), TestCertificates.traditional(server.keys()));
        Files.writeString(dir.resolve("ca.crt"), TestCertificates.pem(ca.certificate()));
    }

    private FleetDaemon start(Consumer<ObjectNode> ssl) throws Exception {
        return fleet.start(server -> {
            ObjectNode s = server.putObject("ssl");
            s.put("certificate", dir.resolve("fleet.crt").toString());
            s.put("key", dir.resolve("fleet.key").toString());
            ssl.accept(s);
        });
    }

    @Test
    void anAgentTrustingTheCaEnrollsChecksInAndReadsStatusOverHttps() throws Exception {
        start(ssl -> { });
        AgentClient agent = new AgentClient(fleet.port(), TestCertificates.clientContext(ca, null));

        assertThat(agent.status(null).status()).isEqualTo(200);
        Enrolled a = E2eSupport.enroll(fleet.daemon(), agent);
        AgentClient.Reply checkin = agent.checkin(a.id(), a.key(), AgentClient.checkinBody("starting"));
        assertThat(checkin.status()).as(checkin.body()).isEqualTo(200);
        assertThat(checkin.json().at("/actions/0/type").asText()).isEqualTo("POLICY_CHANGE");
    }

    @Test
    void plainHttpOnTheTlsPortIsAnsweredAsGoDoes() throws Exception {
        start(ssl -> { });
        AgentClient.Reply r = new AgentClient(fleet.port()).status(null);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("Client sent an HTTP request to an HTTPS server.\n");
    }

    @Test
    void withRequiredClientCertificatesOnlyAgentsPresentingOneFromTheCaGetIn() throws Exception {
        start(ssl -> {
            ssl.putArray("certificate_authorities").add(dir.resolve("ca.crt").toString());
            ssl.put("client_authentication", "required");
        });
        AgentClient anonymous = new AgentClient(fleet.port(), TestCertificates.clientContext(ca, null));
        assertThatThrownBy(() -> anonymous.status(null)).isInstanceOf(AssertionError.class);

        AgentClient withCertificate = new AgentClient(fleet.port(),
                TestCertificates.clientContext(ca, TestCertificates.client(ca, "agent-7")));
        assertThat(withCertificate.status(null).status()).isEqualTo(200);
        Enrolled a = E2eSupport.enroll(fleet.daemon(), withCertificate);
        assertThat(withCertificate.checkin(a.id(), a.key(), AgentClient.checkinBody("starting")).status()).isEqualTo(200);
    }

    @Test
    void aMissingCertificateFileStopsTheStart() throws Exception {
        Files.delete(dir.resolve("fleet.crt"));
        assertThatThrownBy(() -> start(ssl -> { })).hasMessageContaining("ssl.certificate: cannot read");
    }

    private FleetDaemon startWithManagementTls(String certificate) throws Exception {
        return fleet.startWithRoot(root -> {
            ObjectNode ssl = root.putObject("management").putObject("ssl");
            ssl.put("certificate", dir.resolve(certificate).toString());
            ssl.put("key", dir.resolve("fleet.key").toString());
        });
    }

    private HttpResponse<String> management(HttpClient client, String scheme, String method, String path, String body,
                                            String... headers) throws Exception {
        return E2eSupport.send(client, URI.create(scheme + "://127.0.0.1:" + fleet.daemon().managementPort() + path),
                method, body, headers);
    }

    @Test
    void withManagementSslTheManagementApiAndTheConsoleAreServedOverHttpsWithASecureSessionCookie() throws Exception {
        startWithManagementTls("fleet.crt");
        HttpClient trusting = HttpClient.newBuilder().sslContext(TestCertificates.clientContext(ca, null)).build();
        String token = fleet.daemon().managementToken();

        HttpResponse<String> agents = management(trusting, "https", "GET", "/api/fleet/agents", null,
                "Authorization", "Bearer " + token);
        assertThat(agents.statusCode()).as(agents.body()).isEqualTo(200);
        assertThat(management(trusting, "https", "GET", "/ui/", null).body()).contains("<title>Fleet Server console</title>");

        HttpResponse<String> signedIn = management(trusting, "https", "POST", "/ui/api/session",
                "{\"token\":\"" + token + "\"}");
        assertThat(signedIn.statusCode()).isEqualTo(200);
        String cookie = signedIn.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(cookie.toLowerCase(Locale.ROOT)).contains("; secure").contains("; httponly").contains("samesite=strict");
        // A change made with the cookie from the console's own https origin is accepted.
        HttpResponse<String> policy = management(trusting, "https", "POST", "/api/fleet/agent_policies",
                "{\"name\":\"Over TLS\",\"namespace\":\"default\"}", "Cookie", cookie.substring(0, cookie.indexOf(';')),
                "Origin", "https://127.0.0.1:" + fleet.daemon().managementPort());
        assertThat(policy.statusCode()).as(policy.body()).isEqualTo(200);

        // The agent listener is untouched: plain HTTP, as configured.
        assertThat(fleet.agent().status(null).status()).isEqualTo(200);
    }

    @Test
    void withManagementSslPlainHttpAndUntrustingClientsAreRefused() throws Exception {
        startWithManagementTls("fleet.crt");
        HttpResponse<String> plain = management(HttpClient.newHttpClient(), "http", "GET", "/api/fleet/agents", null);
        assertThat(plain.statusCode()).isEqualTo(400);
        assertThat(plain.body()).isEqualTo("Client sent an HTTP request to an HTTPS server.\n");
        assertThatThrownBy(() -> management(HttpClient.newHttpClient(), "https", "GET", "/api/status", null))
                .isInstanceOf(SSLHandshakeException.class);
    }

    @Test
    void aMissingManagementCertificateStopsTheStartNamingTheManagementSetting() {
        assertThatThrownBy(() -> startWithManagementTls("missing.crt"))
                .hasMessageContaining("management.ssl.certificate: cannot read");
    }
}
