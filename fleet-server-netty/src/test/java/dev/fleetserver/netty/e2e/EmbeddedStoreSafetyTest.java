package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.store.embedded.StoreDamage;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.StartupException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded store is never silently replaced or half-read: a lost store stops the start (a new directory starts
 * empty), a damaged one too, damage found while serving takes the server out of rotation, and a backup taken while
 * it runs brings the fleet back.
 */
class EmbeddedStoreSafetyTest {
    @TempDir
    Path tmp;
    private final List<FleetDaemon> running = new ArrayList<>();

    @AfterEach
    void stopAll() {
        running.forEach(FleetDaemon::stop);
    }

    private FleetDaemon start(Path dataDir) throws Exception {
        FleetDaemon fleet = TestFleet.start(dataDir);
        running.add(fleet);
        return fleet;
    }

    /** A fleet with {@code agents} enrolled agents, stopped; returns its data directory. */
    private Path fleetWithAgents(int agents) throws Exception {
        Path dataDir = tmp.resolve("data");
        FleetDaemon fleet = TestFleet.start(dataDir);
        try {
            AgentClient client = new AgentClient(fleet.port());
            for (int i = 0; i < agents; i++) {
                client.enroll(fleet.enrollmentToken());
            }
        } finally {
            fleet.stop();
        }
        return dataDir;
    }

    @Test
    void aMissingStoreBesideTheServersOtherStateIsRefusedSayingWhatIsMissingAndHowToRestore() throws Exception {
        Path dataDir = fleetWithAgents(1);
        Files.delete(dataDir.resolve("fleet.db"));

        DaemonProcess server = DaemonProcess.server(dataDir);

        assertThat(server.awaitExit()).isEqualTo(1);
        Path db = dataDir.resolve("fleet.db");
        assertThat(server.stderr()).containsExactly(
                "fleet-server: the embedded store " + db + " is missing, but " + dataDir
                        + " holds this server's other state (management-token), so a store was there.",
                "  Starting now would create an empty fleet: every enrolled agent would be refused (401) and would have to enroll again.",
                "  To restore: copy your latest backup to " + db + " (first remove fleet.db-wal and fleet.db-shm if present), then start again.",
                "  To start a new, empty fleet on purpose: remove management-token from " + dataDir + " (or use an empty --data-dir).");
        assertThat(db).doesNotExist();
    }

    @Test
    void anEmptyStoreFileBesideTheServersOtherStateIsRefusedToo() throws Exception {
        Path dataDir = fleetWithAgents(1);
        Files.write(dataDir.resolve("fleet.db"), new byte[0]);

        assertThatThrownBy(() -> start(dataDir)).isInstanceOf(StartupException.class)
                .hasMessageContaining("fleet.db is empty (0 bytes)")
                .hasMessageContaining("every enrolled agent would be refused");
    }

    @Test
    void aNewDataDirectoryStartsEmptyEvenWhenItExistsOrALockFileWasLeftThere() throws Exception {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertThat(start(empty).enrollmentTokenCreated()).isTrue();

        Path lockOnly = Files.createDirectory(tmp.resolve("lock-only"));
        Files.writeString(lockOnly.resolve("fleet-server.lock"), "12345\n");
        assertThat(start(lockOnly).enrollmentTokenCreated()).isTrue();
    }

    @Test
    void aStoreWithGarbageInTheMiddleIsRefusedAtStartWithTheFileSqlitesMessagesAndHowToRestore() throws Exception {
        Path dataDir = fleetWithAgents(30);
        StoreDamage.garbageInTheMiddle(dataDir.resolve("fleet.db"), 8192, 7);

        assertThatThrownBy(() -> start(dataDir)).isInstanceOf(StartupException.class)
                .hasMessageStartingWith("the embedded store " + dataDir.resolve("fleet.db") + " is damaged; SQLite's integrity check says: ")
                .hasMessageContaining("To restore: move fleet.db (and fleet.db-wal, fleet.db-shm if present) out of " + dataDir
                        + ", copy your latest backup to " + dataDir.resolve("fleet.db") + ", then start again.");
    }

    @Test
    void aStoreDamagedWhileServingTurnsTheStatusUnhealthyAndIsLoggedAtErrorOnce() throws Exception {
        try (LogCapture log = LogCapture.root()) {
            Path dataDir = tmp.resolve("data");
            FleetDaemon fleet = start(dataDir);
            AgentClient agent = new AgentClient(fleet.port());
            assertThat(agent.status(null).status()).isEqualTo(200);
            // A document no request has read yet, in pages of its own; then its pages are damaged on disk.
            fleet.store().create("probe", "big", StoreDamage.bigDocument(200_000)).get(5, TimeUnit.SECONDS);
            Path db = dataDir.resolve(SqliteDocumentStore.FILE_NAME);
            StoreDamage.checkpoint(db);
            StoreDamage.breakOverflowChains(db);

            for (int i = 0; i < 3; i++) {
                assertThat(fleet.store().get("probe", "big")).failsWithin(5, TimeUnit.SECONDS);
            }

            AgentClient.Reply status = agent.status(null);
            assertThat(status.status()).isEqualTo(503);
            assertThat(status.json().get("status").asText()).isEqualTo("FAILED");
            assertThat(log.events.stream().filter(e -> e.getLevel() == Level.ERROR)).singleElement()
                    .satisfies(e -> assertThat(e.getFormattedMessage()).contains(db.toString(), "damaged"));
            // Agents whose data is intact are still served.
            assertThat(agent.enroll(fleet.enrollmentToken()).get("id").asText()).isNotBlank();
        }
    }

    @Test
    void aBackupTakenWhileTheServerRunsRestoresToAWorkingServer() throws Exception {
        Path dataDir = tmp.resolve("data");
        FleetDaemon fleet = start(dataDir);
        AgentClient agent = new AgentClient(fleet.port());
        E2eSupport.Enrolled enrolled = E2eSupport.enrollUpToDate(fleet, agent);
        // Other agents keep the server writing while the backup is taken.
        AtomicBoolean busy = new AtomicBoolean(true);
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            AgentClient other = new AgentClient(fleet.port());
            while (busy.get()) {
                other.enroll(fleet.enrollmentToken());
            }
        });
        Path backup = tmp.resolve("backups").resolve("fleet-backup.db");
        Files.createDirectories(backup.getParent());

        DaemonProcess.Result r = DaemonProcess.run("backup", "--data-dir", dataDir.toString(), "--output", backup.toString());

        busy.set(false);
        load.get(30, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.toString()).isZero();
        assertThat(r.stdout()).singleElement().asString().startsWith("Backup of " + dataDir.toAbsolutePath().resolve("fleet.db")
                + " written to " + backup);
        String token = fleet.enrollmentToken();
        fleet.stop();

        Path restored = Files.createDirectories(tmp.resolve("restored"));
        Files.copy(backup, restored.resolve("fleet.db"));
        FleetDaemon again = start(restored);
        assertThat(again.enrollmentToken()).isEqualTo(token);
        assertThat(again.enrollmentTokenCreated()).isFalse();
        // The agent enrolled before the backup carries on with its key, at the revision it had acked.
        AgentClient.Reply reply = new AgentClient(again.port()).checkin(enrolled.id(), enrolled.key(),
                E2eSupport.runningPolicy("default", 0));
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.json().at("/actions/0/id").asText()).isEqualTo("policy:default:1");
        JsonNode doc = E2eSupport.agentDoc(again, enrolled.id());
        assertThat(doc.get("policy_revision_idx").asLong()).isEqualTo(1);
    }
}
