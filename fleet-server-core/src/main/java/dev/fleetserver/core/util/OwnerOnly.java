package dev.fleetserver.core.util;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * Files and directories only their owner may read: the server's state holds enrollment tokens, API key hashes and
 * the management token. On file systems without POSIX permissions (Windows) every method does nothing beyond
 * creating what it is asked to create.
 */
public final class OwnerOnly {
    /** {@code rw-------}. */
    public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
    /** {@code rwx------}. */
    public static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> GROUP_OR_OTHER = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private OwnerOnly() {
    }

    /** Whether the default file system has POSIX permissions. */
    public static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    /** Creates an empty file with mode 0600; fails when it exists. */
    public static Path createFile(Path file) throws IOException {
        return posix() ? Files.createFile(file, attribute(FILE)) : Files.createFile(file);
    }

    /** Creates an empty file with mode 0600 unless it exists; returns whether it was created. */
    public static boolean createFileIfMissing(Path file) throws IOException {
        try {
            createFile(file);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        }
    }

    /** Creates a directory with mode 0700 (its missing parents with the usual mode); fails when it exists. */
    public static Path createDirectory(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        return posix() ? Files.createDirectory(dir, attribute(DIRECTORY)) : Files.createDirectory(dir);
    }

    /** Whether group or others have any access to {@code path}; false without POSIX permissions. */
    public static boolean openToOthers(Path path) throws IOException {
        if (!posix()) {
            return false;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
        return perms.stream().anyMatch(GROUP_OR_OTHER::contains);
    }

    /**
     * Removes group and other access from {@code path} (a file or directory this process owns).
     *
     * @return whether anything changed
     */
    public static boolean restrict(Path path) throws IOException {
        if (!openToOthers(path)) {
            return false;
        }
        Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
        perms.removeAll(GROUP_OR_OTHER);
        Files.setPosixFilePermissions(path, perms);
        return true;
    }

    /**
     * Whether this process's user owns the directory {@code dir}: compared with the owner of a file created there
     * for the purpose, which works for users without a name too (a container's arbitrary uid).
     */
    public static boolean ownedByMe(Path dir) throws IOException {
        Path probe;
        try {
            probe = Files.createTempFile(dir, ".owner-", ".tmp");
        } catch (java.nio.file.AccessDeniedException e) {
            return false;
        }
        try {
            return Files.getOwner(probe, LinkOption.NOFOLLOW_LINKS).equals(Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS));
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    private static FileAttribute<Set<PosixFilePermission>> attribute(Set<PosixFilePermission> perms) {
        return PosixFilePermissions.asFileAttribute(perms);
    }
}
