package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.StartupException;
import dev.fleetserver.netty.config.ConfigLoader;
import java.util.Map;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an operator sees when the server cannot start: one line that says why, and the exit status. */
class StartupErrorsTest {
    @TempDir
    Path tmp;

    @Test
    void anOriginalConfigWithUsernameAndPasswordExits2WithOneLineSayingAServiceTokenIsRequired() throws Exception {
        Path yml = Files.writeString(tmp.resolve("fleet-server.yml"), """
                output:
                  elasticsearch:
                    hosts: ["127.0.0.1:9200"]
                    username: elastic
                    password: changeme
                """);

        DaemonProcess.Result r = DaemonProcess.run("--config", yml.toString(), "--data-dir", tmp.resolve("data").toString());

        assertThat(r.status()).isEqualTo(2);
        assertThat(r.stderr()).containsExactly("fleet-server: output.elasticsearch: username/password is not supported; "
                + "a service token is required (service_token or service_token_path); create one with "
                + "`bin/elasticsearch-service-tokens create elastic/fleet-server <name>`");
    }

    @Test
    void anUnreadableServiceTokenFileOrCertificateAuthorityIsAConfigurationError() throws Exception {
        Path noToken = Files.writeString(tmp.resolve("no-token.yml"), """
                output.elasticsearch:
                  hosts: ["127.0.0.1:9200"]
                  service_token_path: %s
                """.formatted(tmp.resolve("missing-token")));
        DaemonProcess.Result r = DaemonProcess.run("--config", noToken.toString(), "--data-dir", tmp.resolve("data").toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.stderr()).containsExactly("fleet-server: output.elasticsearch.service_token_path: cannot read "
                + tmp.resolve("missing-token") + ": no such file");

        Path noCa = Files.writeString(tmp.resolve("no-ca.yml"), """
                output.elasticsearch:
                  hosts: ["https://127.0.0.1:9200"]
                  service_token: AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rlc3Q6c2VjcmV0
                  ssl.certificate_authorities: [%s]
                """.formatted(tmp.resolve("missing-ca.pem")));
        r = DaemonProcess.run("--config", noCa.toString(), "--data-dir", tmp.resolve("data").toString());
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.stderr().stream().filter(l -> l.startsWith("fleet-server: "))).singleElement().asString()
                .startsWith("fleet-server: output.elasticsearch: cannot load certificate authorities")
                .contains("missing-ca.pem");
        assertThat(r.stderr()).noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception"));
    }

    @Test
    void aTakenPortIsNamedWithItsListenerInOneLineWithoutAStackTrace() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();

            DaemonProcess.Result r = DaemonProcess.run("--data-dir", tmp.resolve("data").toString(), "--host", "127.0.0.1",
                    "--port", Integer.toString(port), "--management-port", "0");

            assertThat(r.status()).isEqualTo(1);
            assertThat(r.stderr().stream().filter(l -> l.startsWith("fleet-server: "))).containsExactly(
                    "fleet-server: cannot listen on 127.0.0.1:" + port + " (agent listener): address already in use");
            assertThat(r.stderr()).noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception"));
        }
    }

    @Test
    void theManagementAndMetricsListenersAreNamedToo() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            ObjectNode root = Json.object();
            root.putArray("inputs").addObject().put("type", "fleet-server").putObject("server")
                    .put("host", "127.0.0.1").put("port", 0);
            root.putObject("management").put("host", "127.0.0.1").put("port", port);
            assertThatThrownBy(() -> FleetDaemon.start(ConfigLoader.load(root, Map.of("data-dir", tmp.resolve("a").toString()), Map.of())))
                    .isInstanceOf(StartupException.class)
                    .hasMessage("cannot listen on 127.0.0.1:" + port + " (management listener): address already in use");
            assertThatThrownBy(() -> TestFleet.startWithRoot(tmp.resolve("b"), r -> r.putObject("http")
                    .put("enabled", true).put("host", "127.0.0.1").put("port", port)))
                    .isInstanceOf(StartupException.class)
                    .hasMessage("cannot listen on 127.0.0.1:" + port + " (metrics listener): address already in use");
        }
    }
}
