package dev.fleetserver.core.store.embedded;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.sqlite.SQLiteConfig;

/**
 * SQLite's {@code PRAGMA integrity_check} of a database file, on a read-only connection, interrupted after a time
 * bound so that a very large store cannot hold up a start for long. It reads every page, so damage anywhere (a
 * torn or overwritten page) is found, not only in the parts the next requests happen to read.
 */
public final class SqliteIntegrityCheck {
    /** At most this many problems are collected. */
    public static final int MAX_PROBLEMS = 10;

    private SqliteIntegrityCheck() {
    }

    /** The outcome of a check. */
    public sealed interface Result {
    }

    /** SQLite found nothing wrong. */
    public record Ok(Duration took) implements Result {
    }

    /** The database is damaged; {@code problems} are SQLite's first messages (at most {@value #MAX_PROBLEMS}). */
    public record Damaged(List<String> problems) implements Result {
        public Damaged {
            problems = List.copyOf(problems);
        }
    }

    /** The check was interrupted after {@code bound}; nothing is known. */
    public record TimedOut(Duration bound) implements Result {
    }

    /**
     * Checks {@code database}, which must exist.
     *
     * @throws SQLException when the file cannot be opened for a reason other than damage (permissions, I/O)
     */
    public static Result run(Path database, Duration bound) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleet-store-check-timer");
            t.setDaemon(true);
            return t;
        });
        AtomicBoolean interrupted = new AtomicBoolean();
        long start = System.nanoTime();
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database.toAbsolutePath(), config.toProperties());
             Statement statement = connection.createStatement()) {
            // sqlite3_interrupt stops the running pragma with SQLITE_INTERRUPT. It does nothing while no statement
            // runs, so it is repeated until the check ends (it may fire before the pragma has begun).
            ScheduledFuture<?> stop = timer.scheduleWithFixedDelay(() -> {
                interrupted.set(true);
                try {
                    statement.cancel();
                } catch (SQLException e) {
                    // the check has just finished
                }
            }, bound.toNanos(), TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.NANOSECONDS);
            List<String> problems = new ArrayList<>();
            try (ResultSet rows = statement.executeQuery("PRAGMA integrity_check(" + MAX_PROBLEMS + ")")) {
                while (rows.next()) {
                    String line = rows.getString(1);
                    if (!"ok".equalsIgnoreCase(line)) {
                        problems.add(line);
                    }
                }
            } finally {
                stop.cancel(false);
            }
            return problems.isEmpty() ? new Ok(Duration.ofNanos(System.nanoTime() - start)) : new Damaged(problems);
        } catch (SQLException e) {
            if (interrupted.get() && (e.getErrorCode() & 0xff) == 9) {
                return new TimedOut(bound);
            }
            if (SqliteDocumentStore.isCorruption(e)) {
                return new Damaged(List.of(e.getMessage()));
            }
            throw e;
        } finally {
            timer.shutdownNow();
        }
    }
}
