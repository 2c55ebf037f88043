package dev.fleetserver.netty.datadir;

import dev.fleetserver.core.util.OwnerOnly;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's data directory ({@code --data-dir}): the embedded store, the management token, downloaded upgrade
 * keys, the lock. It holds secrets (enrollment tokens, API key hashes), so it is created with mode 0700, and an
 * existing one that others may read is tightened (with a warning) when this user owns it.
 */
public final class DataDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(DataDirectory.class);

    private DataDirectory() {
    }

    /** Creates {@code dir} (mode 0700) or tightens an existing one; returns it. */
    public static Path prepare(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            OwnerOnly.createDirectory(dir);
            return dir;
        }
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is not a directory");
        }
        if (OwnerOnly.openToOthers(dir)) {
            if (OwnerOnly.ownedByMe(dir)) {
                OwnerOnly.restrict(dir);
                LOG.warn("data directory {} was open to other users; its mode is now 0700 (it holds enrollment tokens)", dir);
            } else {
                LOG.warn("data directory {} is open to other users and owned by another user: make it mode 0700 "
                        + "(it holds enrollment tokens)", dir);
            }
        }
        return dir;
    }
}
