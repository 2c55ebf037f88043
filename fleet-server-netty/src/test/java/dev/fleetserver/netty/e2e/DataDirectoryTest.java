package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.StartupException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One server per data directory, which only its owner may read; the enrollment token printed once, and on demand. */
class DataDirectoryTest {
    @TempDir
    Path tmp;
    private final List<AutoCloseable> running = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : running) {
            c.close();
        }
    }

    private DaemonProcess server(Path dataDir) {
        DaemonProcess p = DaemonProcess.server(dataDir);
        running.add(p);
        return p;
    }

    @Test
    void aSecondServerOnTheSameDataDirectoryIsRefusedNamingTheDirectoryAndTheHoldersPid() {
        Path dataDir = tmp.resolve("data");
        DaemonProcess first = server(dataDir);
        first.awaitServing();

        DaemonProcess second = server(dataDir);

        assertThat(second.awaitExit()).isEqualTo(1);
        assertThat(second.stderr()).containsExactly("fleet-server: data directory " + dataDir + " is in use by another "
                + "fleet-server (pid " + first.pid() + "); stop it first, or give this one its own --data-dir");
        assertThat(Files.exists(dataDir.resolve("fleet.db"))).isTrue();
        // The first one is unaffected, and once it is gone the directory is free again (the file stays, the lock not).
        assertThat(first.stop()).isZero();
        DaemonProcess third = server(dataDir);
        assertThat(third.awaitServing()).startsWith("To print the enrollment token: ");
    }

    @Test
    void aSecondServerInTheSameProcessIsRefusedAndTheFirstKeepsTheDirectory() throws Exception {
        Path dataDir = tmp.resolve("data");
        FleetDaemon first = TestFleet.start(dataDir);
        running.add(first);

        assertThatThrownBy(() -> TestFleet.start(dataDir)).isInstanceOf(StartupException.class)
                .hasMessageContaining("is in use by another fleet-server (pid " + ProcessHandle.current().pid() + ")");
        assertThatThrownBy(() -> TestFleet.start(dataDir)).isInstanceOf(StartupException.class);

        assertThat(new AgentClient(first.port()).enroll(first.enrollmentToken()).get("id").asText()).isNotBlank();
        first.stop();
        FleetDaemon again = TestFleet.start(dataDir);
        running.add(again);
        assertThat(again.enrollmentToken()).isEqualTo(first.enrollmentToken());
    }

    @Test
    void theDataDirectoryAndEveryFileTheServerWritesAreReadableByTheirOwnerOnly() throws Exception {
        Path dataDir = tmp.resolve("new").resolve("data");
        FleetDaemon fleet = TestFleet.start(dataDir);
        running.add(fleet);
        new AgentClient(fleet.port()).enroll(fleet.enrollmentToken());

        assertThat(mode(dataDir)).isEqualTo("rwx------");
        try (Stream<Path> files = Files.list(dataDir)) {
            List<Path> all = files.toList();
            assertThat(all.stream().map(p -> p.getFileName().toString()))
                    .contains("fleet.db", "fleet.db-wal", "fleet.db-shm", "management-token", "fleet-server.lock");
            for (Path f : all) {
                assertThat(mode(f)).as(f.toString()).isEqualTo("rw-------");
            }
        }
    }

    @Test
    void anExistingDataDirectoryOpenToOthersIsTightened() throws Exception {
        Path dataDir = Files.createDirectory(tmp.resolve("data"));
        Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwxr-xr-x"));

        running.add(TestFleet.start(dataDir));

        assertThat(mode(dataDir)).isEqualTo("rwx------");
    }

    @Test
    void theEnrollmentTokenIsPrintedWhenItIsMadeAndOnDemandWhileTheServerRuns() {
        Path dataDir = tmp.resolve("data");
        DaemonProcess first = server(dataDir);
        String printed = first.awaitServing();
        assertThat(printed).startsWith("Enrollment token: ");
        String token = printed.substring("Enrollment token: ".length());
        assertThat(first.stop()).isZero();

        DaemonProcess second = server(dataDir);
        assertThat(second.awaitServing()).isEqualTo("To print the enrollment token: java -jar fleet-server.jar "
                + "enrollment-token --data-dir " + dataDir);
        assertThat(String.join("\n", second.stdout())).doesNotContain(token);

        assertThat(DaemonProcess.enrollmentToken(dataDir)).isEqualTo(token);
        DaemonProcess.Result unknown = DaemonProcess.run("enrollment-token", "--data-dir", dataDir.toString(), "--policy", "nope");
        assertThat(unknown.status()).isEqualTo(1);
        assertThat(unknown.stderr()).singleElement().asString().contains("policy \"nope\" has no active enrollment key");
        assertThat(second.stop()).isZero();
        // Stopped: still readable, and reading made nothing that would pass for a store elsewhere.
        assertThat(DaemonProcess.enrollmentToken(dataDir)).isEqualTo(token);
        DaemonProcess.Result none = DaemonProcess.run("enrollment-token", "--data-dir", tmp.resolve("none").toString());
        assertThat(none.status()).isEqualTo(1);
        assertThat(tmp.resolve("none")).doesNotExist();
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
