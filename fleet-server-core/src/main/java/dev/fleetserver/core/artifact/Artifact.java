package dev.fleetserver.core.artifact;

import java.nio.ByteBuffer;

/**
 * One artifact of {@code .fleet-artifacts}, ready to serve.
 *
 * @param identifier    e.g. {@code endpoint-exceptionlist-windows-v1}
 * @param decodedSha256 SHA-256 of the artifact once decompressed (what policies name it by)
 * @param encodedSha256 SHA-256 of {@link #body()}
 * @param body          the stored bytes, base64-decoded but still in their stored encoding (usually zlib): a
 *                      read-only direct buffer shared by every request that serves it; serve {@code body.duplicate()}
 *                      so that positions are per request. Direct, so that a socket write sends it without first
 *                      copying it off the heap.
 */
public record Artifact(String identifier, String decodedSha256, String encodedSha256, String compressionAlgorithm,
                       String encryptionAlgorithm, ByteBuffer body) {

    /** Bytes of the body. */
    public int size() {
        return body.capacity();
    }
}
