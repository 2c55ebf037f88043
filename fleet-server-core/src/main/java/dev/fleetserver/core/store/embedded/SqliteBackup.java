package dev.fleetserver.core.store.embedded;

import dev.fleetserver.core.util.OwnerOnly;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteConnection;

/**
 * A consistent copy of a store's database file, safe while a server writes to it: SQLite's online backup API
 * copies the pages of one read snapshot (the write-ahead log lets the server go on writing meanwhile), so the copy
 * is what the store held at one instant, never a torn mix. The copy is a single self-contained file (rollback
 * journal mode; the store switches it back to WAL when it opens it), checked with {@code PRAGMA quick_check},
 * readable by its owner only, and appears under its final name only once complete.
 */
public final class SqliteBackup {
    private static final int BUSY_SLEEP_MILLIS = 100;
    private static final int BUSY_RETRIES = 100;

    private SqliteBackup() {
    }

    /**
     * Copies {@code database} to {@code output} (replacing it).
     *
     * @return the size of the copy in bytes
     * @throws SQLException when the database cannot be read or the copy fails its check
     */
    public static long backup(Path database, Path output) throws SQLException, IOException {
        if (!Files.isRegularFile(database)) {
            throw new IOException("there is no database file at " + database);
        }
        Path target = output.toAbsolutePath();
        Path tmp = target.resolveSibling("." + target.getFileName() + ".partial-" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        OwnerOnly.createFile(tmp);
        try {
            copy(database, tmp);
            finish(tmp);
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return Files.size(target);
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(SqliteDocumentStore.walFile(tmp));
            Files.deleteIfExists(SqliteDocumentStore.shmFile(tmp));
            Files.deleteIfExists(tmp.resolveSibling(tmp.getFileName() + "-journal"));
        }
    }

    private static void copy(Path database, Path tmp) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        try (Connection source = DriverManager.getConnection("jdbc:sqlite:" + database.toAbsolutePath(), config.toProperties())) {
            // All pages in one step (-1): one read snapshot, so writes by the server meanwhile cannot restart it.
            int rc = source.unwrap(SQLiteConnection.class).getDatabase()
                    .backup("main", tmp.toString(), null, BUSY_SLEEP_MILLIS, BUSY_RETRIES, -1);
            if (rc != 0) {
                throw new SQLException("backup of " + database + " failed with SQLite result code " + rc, null, rc);
            }
        }
    }

    /** Makes the copy one self-contained file and checks it. */
    private static void finish(Path tmp) throws SQLException {
        try (Connection copy = DriverManager.getConnection("jdbc:sqlite:" + tmp);
             Statement s = copy.createStatement()) {
            s.execute("PRAGMA journal_mode = DELETE");
            StringBuilder problems = new StringBuilder();
            try (ResultSet rows = s.executeQuery("PRAGMA quick_check(" + SqliteIntegrityCheck.MAX_PROBLEMS + ")")) {
                while (rows.next()) {
                    if (!"ok".equalsIgnoreCase(rows.getString(1))) {
                        problems.append(problems.isEmpty() ? "" : "; ").append(rows.getString(1));
                    }
                }
            }
            if (!problems.isEmpty()) {
                throw new SQLException("the copy failed its check: " + problems);
            }
        }
    }
}
