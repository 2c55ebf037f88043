package dev.fleetserver.core.store;

/**
 * A store operation failed. The subclasses say how: the document is missing, a concurrent write won, or the store
 * itself is unavailable (the only case that maps to "service unavailable" for the caller).
 */
public class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }

    public StoreException(String message) {
        super(message);
    }

    /** The document (or index) does not exist. */
    public static final class NotFound extends StoreException {
        public NotFound(String message) {
            super(message);
        }
    }

    /** A create hit an existing id, or an {@code ifSeqNo} precondition failed. */
    public static final class Conflict extends StoreException {
        public Conflict(String message) {
            super(message);
        }
    }

    /** The store cannot be reached or failed internally; the request may be retried later. */
    public static final class Unavailable extends StoreException {
        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
