package dev.fleetserver.core.file;

import java.util.concurrent.CompletableFuture;

/**
 * A file's bytes, one piece at a time, read only when asked for: whoever streams them asks for the next piece once
 * the previous one is on its way, so a download holds at most one piece in memory however large the file.
 */
public interface PieceReader extends AutoCloseable {

    /** The next piece (possibly empty), or null after the last. Not to be called again before it completes. */
    CompletableFuture<byte[]> next();

    /** Releases what the reader holds; later {@link #next} calls fail. */
    @Override
    void close();
}
