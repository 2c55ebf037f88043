package dev.fleetserver.core.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteIntegrityCheckTest {
    @TempDir
    Path dataDir;

    private Path storeWithAgents(int agents) throws Exception {
        try (SqliteDocumentStore store = SqliteDocumentStore.open(dataDir)) {
            for (int i = 0; i < agents; i++) {
                store.create(".fleet-agents", "agent-" + i, Json.object().put("agent", "a".repeat(800)).put("n", i))
                        .get(5, TimeUnit.SECONDS);
            }
        }
        return dataDir.resolve(SqliteDocumentStore.FILE_NAME);
    }

    @Test
    void aHealthyStorePassesTheCheck() throws Exception {
        Path db = storeWithAgents(50);

        assertThat(SqliteIntegrityCheck.run(db, Duration.ofSeconds(30))).isInstanceOf(SqliteIntegrityCheck.Ok.class);
    }

    @Test
    void eightKilobytesOfGarbageInTheMiddleAreFoundWithSqlitesMessages() throws Exception {
        Path db = storeWithAgents(200);
        StoreDamage.garbageInTheMiddle(db, 8192, 42);

        SqliteIntegrityCheck.Result result = SqliteIntegrityCheck.run(db, Duration.ofSeconds(30));

        assertThat(result).isInstanceOf(SqliteIntegrityCheck.Damaged.class);
        assertThat(((SqliteIntegrityCheck.Damaged) result).problems()).isNotEmpty()
                .hasSizeLessThanOrEqualTo(SqliteIntegrityCheck.MAX_PROBLEMS);
    }

    @Test
    void aFileThatIsNotADatabaseIsDamaged() throws Exception {
        Path db = storeWithAgents(1);
        byte[] bytes = Files.readAllBytes(db);
        System.arraycopy("not a database!!".getBytes(), 0, bytes, 0, 16);
        Files.write(db, bytes);

        assertThat(SqliteIntegrityCheck.run(db, Duration.ofSeconds(30))).isInstanceOf(SqliteIntegrityCheck.Damaged.class);
    }

    @Test
    void aCheckThatOutlastsItsBoundIsInterrupted() throws Exception {
        Path db = dataDir.resolve("large.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE t (x BLOB)");
            s.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
                    + "INSERT INTO t SELECT randomblob(100) FROM n");
            s.execute("CREATE INDEX t_x ON t (x)");
        }

        long start = System.nanoTime();
        SqliteIntegrityCheck.Result result = SqliteIntegrityCheck.run(db, Duration.ofMillis(1));

        assertThat(result).isEqualTo(new SqliteIntegrityCheck.TimedOut(Duration.ofMillis(1)));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }
}
