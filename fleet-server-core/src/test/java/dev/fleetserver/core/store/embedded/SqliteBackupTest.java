package dev.fleetserver.core.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteBackupTest {
    @TempDir
    Path dir;

    @Test
    void aBackupTakenWhileWritesGoOnIsOneConsistentSnapshotThatOpensAsAStore() throws Exception {
        Path live = dir.resolve("live");
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger written = new AtomicInteger();
        Path backup = dir.resolve("backups").resolve("fleet-backup.db");
        Files.createDirectories(backup.getParent());
        try (SqliteDocumentStore store = SqliteDocumentStore.open(live)) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                while (writing.get()) {
                    int n = written.get();
                    store.create(".fleet-agents", "agent-" + n, Json.object().put("n", n)).join();
                    written.incrementAndGet();
                }
            });
            while (written.get() < 200) {
                Thread.onSpinWait();
            }

            long bytes = SqliteBackup.backup(live.resolve(SqliteDocumentStore.FILE_NAME), backup);

            int before = written.get();
            writing.set(false);
            writer.get(10, TimeUnit.SECONDS);
            assertThat(bytes).isEqualTo(Files.size(backup));
            assertThat(before).isGreaterThanOrEqualTo(200);
        }

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(backup))).isEqualTo("rw-------");
        try (var files = Files.list(backup.getParent())) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("fleet-backup.db");
        }
        Path restored = dir.resolve("restored");
        Files.createDirectories(restored);
        Files.copy(backup, restored.resolve(SqliteDocumentStore.FILE_NAME));
        try (SqliteDocumentStore store = SqliteDocumentStore.open(restored)) {
            long checkpoint = store.checkpoint(".fleet-agents").get(5, TimeUnit.SECONDS);
            long count = store.count(".fleet-agents", Query.where()).get(5, TimeUnit.SECONDS);
            // One snapshot: every document up to the recorded sequence number, and none after it.
            assertThat(count).isEqualTo(checkpoint + 1).isGreaterThanOrEqualTo(200);
            assertThat(store.get(".fleet-agents", "agent-" + checkpoint).get(5, TimeUnit.SECONDS)).isPresent();
        }
    }
}
