package dev.fleetserver.core.store.embedded;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Damages a store's database file the way disks and careless copies do, for tests of what the server makes of it.
 * Also usable while a server has the file open: {@link #checkpoint} moves everything out of the write-ahead log
 * first, so that what is overwritten is what readers will read.
 */
public final class StoreDamage {
    private StoreDamage() {
    }

    /** A document whose JSON is about {@code bytes} long: SQLite keeps it in a chain of overflow pages. */
    public static ObjectNode bigDocument(int bytes) {
        ObjectNode doc = Json.object();
        char[] filler = new char[bytes];
        Arrays.fill(filler, 'x');
        doc.put("filler", new String(filler));
        return doc;
    }

    /** Copies the write-ahead log into the database file and empties it; retries while a writer is busy. */
    public static void checkpoint(Path db) throws SQLException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            while (true) {
                try (ResultSet r = s.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
                    if (r.next() && r.getInt(1) == 0) {
                        return;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the checkpoint of " + db + " stayed busy");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        }
    }

    /** The overflow pages of the {@code documents} table (only big documents have any), in page order. */
    public static List<Integer> overflowPages(Path db) throws SQLException {
        List<Integer> pages = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(
                     "SELECT pageno FROM dbstat WHERE name = 'documents' AND pagetype = 'overflow' ORDER BY pageno")) {
            while (r.next()) {
                pages.add(r.getInt(1));
            }
        }
        return pages;
    }

    /**
     * Overwrites the second half of the big documents' overflow pages with 0xFF bytes: a chain that leads
     * nowhere, which SQLite reports as {@code SQLITE_CORRUPT} to whoever reads those documents, and to nobody else.
     */
    public static void breakOverflowChains(Path db) throws SQLException, IOException {
        List<Integer> pages = overflowPages(db);
        if (pages.size() < 2) {
            throw new AssertionError("no big document in " + db);
        }
        int pageSize = pageSize(db);
        byte[] ff = new byte[pageSize];
        Arrays.fill(ff, (byte) 0xFF);
        try (RandomAccessFile file = new RandomAccessFile(db.toFile(), "rw")) {
            for (int page : pages.subList(pages.size() / 2, pages.size())) {
                file.seek((long) (page - 1) * pageSize);
                file.write(ff);
            }
            file.getFD().sync();
        }
    }

    /** Writes {@code bytes} of random garbage (from {@code seed}) at the middle of the file. */
    public static void garbageInTheMiddle(Path db, int bytes, long seed) throws IOException {
        byte[] garbage = new byte[bytes];
        new Random(seed).nextBytes(garbage);
        long size = Files.size(db);
        if (size < 2L * bytes) {
            throw new AssertionError(db + " is too small (" + size + " bytes) for " + bytes + " bytes of garbage in its middle");
        }
        try (RandomAccessFile file = new RandomAccessFile(db.toFile(), "rw")) {
            file.seek(size / 2 - bytes / 2);
            file.write(garbage);
            file.getFD().sync();
        }
    }

    private static int pageSize(Path db) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("PRAGMA page_size")) {
            r.next();
            return r.getInt(1);
        }
    }
}
