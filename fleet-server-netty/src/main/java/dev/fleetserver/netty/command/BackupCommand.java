package dev.fleetserver.netty.command;

import dev.fleetserver.core.store.embedded.SqliteBackup;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.FleetServerConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;

/**
 * {@code fleet-server backup --output FILE [--config FILE] [--data-dir DIR]}: a consistent copy of the embedded
 * store, taken with SQLite's online backup while the server may be running ({@link SqliteBackup}). Restore by
 * copying the file to {@code <data dir>/fleet.db} while the server is stopped.
 */
public final class BackupCommand {
    public static final String NAME = "backup";

    private BackupCommand() {
    }

    static int run(FleetServerConfig config, Path output, PrintStream out, PrintStream err) {
        if (config.output().isConfigured()) {
            throw new ConfigException("backup copies the embedded store; on Elasticsearch the state is in the .fleet-* "
                    + "indices: back them up with a snapshot (_snapshot)");
        }
        Path db = config.embedded().dataDir().resolve(SqliteDocumentStore.FILE_NAME).toAbsolutePath().normalize();
        Path target = output.toAbsolutePath().normalize();
        if (target.equals(db) || target.getFileName().toString().startsWith(SqliteDocumentStore.FILE_NAME + "-")
                && target.getParent().equals(db.getParent())) {
            throw new ConfigException("backup: --output must not be the store itself (" + target + ")");
        }
        if (!Files.isRegularFile(db)) {
            err.println("fleet-server: there is no embedded store at " + db);
            return 1;
        }
        try {
            long bytes = SqliteBackup.backup(db, target);
            out.println("Backup of " + db + " written to " + target + " (" + bytes + " bytes)");
            return 0;
        } catch (SQLException | IOException e) {
            err.println("fleet-server: backup of " + db + " failed: " + e.getMessage());
            return 1;
        }
    }
}
