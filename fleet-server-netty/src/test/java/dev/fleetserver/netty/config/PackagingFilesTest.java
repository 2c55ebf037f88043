package dev.fleetserver.netty.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The files in {@code packaging/} stay true to the code: the reference configuration and the systemd unit. */
class PackagingFilesTest {

    static Path packaging(String name) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("packaging").resolve(name);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("packaging/" + name + " not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void theReferenceFileLoadsAndItsValuesAreTheDefaults() {
        FleetServerConfig loaded = ConfigLoader.load(
                new String[] {"--config", packaging("fleet-server.yml").toString()}, Map.of());
        FleetServerConfig defaults = FleetServerConfig.defaults();

        assertThat(loaded.server()).isEqualTo(defaults.server());
        assertThat(loaded.output()).isEqualTo(defaults.output());
        assertThat(loaded.http()).isEqualTo(defaults.http());
        assertThat(loaded.logging()).isEqualTo(defaults.logging());
        assertThat(loaded.management()).isEqualTo(defaults.management());
        assertThat(loaded.embedded()).isEqualTo(defaults.embedded());
        assertThat(loaded.cache()).isEqualTo(defaults.cache());
        assertThat(loaded.policyId()).isNull();
        assertThat(loaded.ignoredSettings()).as("settings that would only log a warning").isEmpty();
    }

    @Test
    void theSystemdUnitRunsTheJarAsItsOwnUserWaitsForReadinessAndTreatsSigtermAsSuccess() throws Exception {
        List<String> lines = Files.readAllLines(packaging("fleet-server.service"));
        assertThat(lines).contains("User=fleet-server", "SuccessExitStatus=143", "LimitNOFILE=65536", "KillSignal=SIGTERM",
                "NoNewPrivileges=true", "ProtectSystem=strict", "ReadWritePaths=/var/lib/fleet-server /var/log/fleet-server",
                "StateDirectory=fleet-server");
        assertThat(String.join("\n", lines)).contains("--config /etc/fleet-server/fleet-server.yml")
                .contains("--data-dir /var/lib/fleet-server")
                .doesNotContain("MemoryDenyWriteExecute=true");
        assertThat(lines.stream().filter(l -> l.startsWith("Type="))).containsExactly("Type=notify");
        assertThat(lines).contains("NotifyAccess=main");
    }
}
