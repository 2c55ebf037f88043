package dev.fleetserver.netty.datadir;

import dev.fleetserver.core.util.OwnerOnly;
import dev.fleetserver.netty.StartupException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One server per data directory: an exclusive lock ({@code fcntl}, through {@link FileChannel#tryLock()}) on
 * {@value #FILE_NAME} in it, holding the owner's pid. Two servers on one embedded store would each follow only
 * their own writes, so agents parked on one would never hear of changes made through the other. The operating
 * system releases the lock when the process ends, however it ends, so a stale file never blocks a start. Readers
 * that only read (the {@code enrollment-token} and {@code backup} commands) do not take it.
 */
public final class DataDirLock implements AutoCloseable {
    /** The lock file's name in the data directory. */
    public static final String FILE_NAME = "fleet-server.lock";

    /**
     * Files locked by this process. Closing any descriptor of a file drops every POSIX lock the process holds on it,
     * so a second server in this JVM must be refused before it opens the file at all.
     */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code dir} and writes this process's pid into it.
     *
     * @throws StartupException when another process (or another server in this one) holds it
     */
    public static DataDirLock acquire(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        try {
            OwnerOnly.createFileIfMissing(file);
            if (!Files.isWritable(file)) {
                throw new AccessDeniedException(file.toString());
            }
        } catch (AccessDeniedException e) {
            throw new StartupException("cannot write in data directory " + dir.toAbsolutePath().normalize()
                    + ": permission denied (it must belong to the user the server runs as)", e);
        }
        file = file.toRealPath();
        if (!HELD.add(file)) {
            throw inUse(dir, Long.toString(ProcessHandle.current().pid()));
        }
        try {
            return acquire(dir, file);
        } catch (IOException | RuntimeException e) {
            HELD.remove(file);
            throw e;
        }
    }

    private static DataDirLock acquire(Path dir, Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            String holder = holder(channel);
            channel.close();
            throw inUse(dir, holder);
        }
        try {
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            lock.release();
            channel.close();
            throw e;
        }
        return new DataDirLock(file, channel, lock);
    }

    private static StartupException inUse(Path dir, String pid) {
        return new StartupException("data directory " + dir.toAbsolutePath().normalize()
                + " is in use by another fleet-server (pid " + pid + "); stop it first, or give this one its own --data-dir");
    }

    /** The pid written by the holder, or "unknown". */
    private static String holder(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(32);
            channel.read(buffer, 0);
            String pid = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).trim();
            return pid.matches("\\d+") ? pid : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Releases the lock; the file stays. Idempotent. */
    @Override
    public void close() {
        if (!channel.isOpen()) {
            return;
        }
        try {
            lock.release();
        } catch (IOException e) {
            // the channel closes below, which releases it too
        }
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to release
        }
        HELD.remove(file);
    }
}
