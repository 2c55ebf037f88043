package dev.fleetserver.core.store;

/**
 * The outcome of one {@link WriteOp}: either the new sequence number, or the error that failed it.
 *
 * @param seqNo the sequence number assigned to the write, or {@code -1} when it failed or was a delete
 * @param error {@code null} on success
 */
public record WriteResult(String id, long seqNo, StoreException error) {
    public boolean ok() {
        return error == null;
    }

    /** Returns the sequence number, or throws the op's error. */
    public long orThrow() {
        if (error != null) {
            throw error;
        }
        return seqNo;
    }
}
