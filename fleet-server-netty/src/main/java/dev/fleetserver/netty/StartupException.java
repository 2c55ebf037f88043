package dev.fleetserver.netty;

/**
 * The server refuses to start for a reason the operator can act on (the data directory is in use, the store is
 * missing or damaged, a port is taken). The message says what is wrong and what to do, and is all {@code main}
 * prints: no stack trace. {@code main} exits with status 1.
 */
public final class StartupException extends RuntimeException {
    public StartupException(String message) {
        super(message);
    }

    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
