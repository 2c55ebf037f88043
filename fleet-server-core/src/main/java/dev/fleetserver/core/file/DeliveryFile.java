package dev.fleetserver.core.file;

/**
 * A file found for delivery to an agent, with its data located: its metadata, and readers over its bytes.
 */
public interface DeliveryFile {

    /** {@code file.size} of the metadata: the bytes a full download sends. */
    long size();

    /** {@code file.mime_type}, or null. */
    String mimeType();

    /** {@code file.hash.sha256}, or null. */
    String sha256();

    /** Every byte of the file in order (as stored, however many that turns out to be). */
    PieceReader readAll();

    /**
     * The bytes {@code [start, start + length)}, for a {@code Range} already checked against {@link #size()}.
     *
     * @throws dev.fleetserver.core.error.FleetException {@code RANGE_NOT_SATISFIABLE} when the stored data does not
     *         cover the range
     */
    PieceReader read(long start, long length);
}
