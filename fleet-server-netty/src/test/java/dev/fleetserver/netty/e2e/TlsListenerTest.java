package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import dev.fleetserver.netty.tls.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The daemon with {@code inputs[0].server.ssl}: agents enroll, check in and ask for status over HTTPS. */
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
}
