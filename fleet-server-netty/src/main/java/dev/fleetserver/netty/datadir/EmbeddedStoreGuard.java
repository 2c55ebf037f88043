package dev.fleetserver.netty.datadir;

import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.store.embedded.SqliteIntegrityCheck;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.StartupException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks made before the embedded store is opened, so that a lost or damaged store stops the start instead of
 * silently serving an empty or partly unreadable fleet:
 *
 * <ul>
 *   <li>A missing or empty {@code fleet.db} in a directory that holds this server's other state (the management
 *       token, SQLite's {@code -wal}/{@code -shm} files, downloaded upgrade keys) means the store was lost, not that
 *       this is a new installation: opening it would create an empty fleet, and every enrolled agent would be
 *       refused and have to enroll again. A directory without such state is new and starts empty.</li>
 *   <li>SQLite's integrity check reads every page, within {@link #CHECK_BOUND}; damage stops the start. A check that
 *       does not finish in time is logged and the start goes on.</li>
 * </ul>
 */
public final class EmbeddedStoreGuard {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedStoreGuard.class);
    /** How long the integrity check may take (a few seconds for a store of tens of thousands of agents). */
    public static final Duration CHECK_BOUND = Duration.ofSeconds(30);
    /** The default directory of downloaded upgrade keys ({@code pgp.dir}) inside the data directory. */
    static final String UPGRADE_KEYS_DIR = "elastic-agent-upgrade-keys";

    private EmbeddedStoreGuard() {
    }

    /** Runs both checks on {@code dataDir}; returns normally when the store may be opened. */
    public static void check(Path dataDir) throws IOException {
        Path db = dataDir.resolve(SqliteDocumentStore.FILE_NAME);
        if (!Files.exists(db) || Files.size(db) == 0) {
            List<String> state = otherState(dataDir);
            if (!state.isEmpty()) {
                throw new StartupException(missingMessage(dataDir, db, state));
            }
            return;
        }
        checkIntegrity(db, CHECK_BOUND);
    }

    /** The integrity check alone, with its bound. */
    static void checkIntegrity(Path db, Duration bound) {
        SqliteIntegrityCheck.Result result;
        try {
            result = SqliteIntegrityCheck.run(db, bound);
        } catch (SQLException e) {
            throw new StartupException("cannot read the embedded store " + db + ": " + e.getMessage(), e);
        }
        if (result instanceof SqliteIntegrityCheck.Damaged damaged) {
            throw new StartupException(damagedMessage(db, damaged.problems()));
        }
        if (result instanceof SqliteIntegrityCheck.TimedOut) {
            LOG.warn("integrity check of {} did not finish within {}; starting without it", db, bound);
        } else if (result instanceof SqliteIntegrityCheck.Ok ok) {
            LOG.info("integrity check of {}: ok ({} ms)", db, ok.took().toMillis());
        }
    }

    /** The files in {@code dataDir} that this server writes besides its store and lock, by name. */
    static List<String> otherState(Path dataDir) {
        List<String> found = new ArrayList<>();
        Path db = dataDir.resolve(SqliteDocumentStore.FILE_NAME);
        for (Path p : List.of(dataDir.resolve(FleetDaemon.MANAGEMENT_TOKEN_FILE), SqliteDocumentStore.walFile(db),
                SqliteDocumentStore.shmFile(db), dataDir.resolve(UPGRADE_KEYS_DIR))) {
            if (Files.exists(p)) {
                found.add(p.getFileName().toString());
            }
        }
        return found;
    }

    private static String missingMessage(Path dataDir, Path db, List<String> state) {
        String dir = dataDir.toAbsolutePath().normalize().toString();
        Path file = dataDir.toAbsolutePath().normalize().resolve(db.getFileName());
        return "the embedded store " + file + " is " + (Files.exists(db) ? "empty (0 bytes)" : "missing")
                + ", but " + dir + " holds this server's other state (" + String.join(", ", state) + "), so a store was there."
                + "\n  Starting now would create an empty fleet: every enrolled agent would be refused (401) and would have to enroll again."
                + "\n  To restore: copy your latest backup to " + file + " (first remove " + file.getFileName() + "-wal and "
                + file.getFileName() + "-shm if present), then start again."
                + "\n  To start a new, empty fleet on purpose: remove " + String.join(", ", state) + " from " + dir
                + " (or use an empty --data-dir).";
    }

    private static String damagedMessage(Path db, List<String> problems) {
        Path file = db.toAbsolutePath().normalize();
        return "the embedded store " + file + " is damaged; SQLite's integrity check says: "
                + String.join("; ", problems.subList(0, Math.min(3, problems.size())))
                + (problems.size() > 3 ? "; ..." : "")
                + "\n  Serving from it would fail requests of the agents whose data is in the damaged part."
                + "\n  To restore: move " + file.getFileName() + " (and " + file.getFileName() + "-wal, "
                + file.getFileName() + "-shm if present) out of " + file.getParent() + ", copy your latest backup to "
                + file + ", then start again.";
    }
}
