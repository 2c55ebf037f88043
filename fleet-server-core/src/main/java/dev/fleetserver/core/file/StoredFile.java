package dev.fleetserver.core.file;

/**
 * A {@link DeliveryFile} with its metadata read: what every store's files have in common; each store says how its
 * bytes are read.
 */
public abstract class StoredFile implements DeliveryFile {
    /**
     * What the metadata says of a file.
     *
     * @param size     {@code file.size}
     * @param mimeType {@code file.mime_type}, or null
     * @param sha256   {@code file.hash.sha256}, or null
     */
    public record Meta(long size, String mimeType, String sha256) {
    }

    private final Meta meta;

    protected StoredFile(Meta meta) {
        this.meta = meta;
    }

    @Override
    public final long size() {
        return meta.size();
    }

    @Override
    public final String mimeType() {
        return meta.mimeType();
    }

    @Override
    public final String sha256() {
        return meta.sha256();
    }
}
