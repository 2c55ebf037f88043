package dev.fleetserver.netty.http;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * An upload chunk's body as it streams in: hashed (SHA-256) piece by piece as it arrives and gathered into one array
 * of at most {@code max} bytes, so a request holds one chunk and no more; the array is what
 * {@link #retainedBytes()} reports to the process's body budget. Allocated when the first bytes arrive, sized from
 * {@code Content-Length} when the client sent one, else grown by doubling.
 */
public final class ChunkBody implements BodyConsumer<ChunkBody.Chunk> {
    private static final int INITIAL = 64 * 1024;

    /** The received chunk: its first {@code length} bytes of {@code data}, and their SHA-256 in lowercase hex. */
    public record Chunk(byte[] data, int length, String sha256) {
    }

    private final int max;
    private final long expected;
    private final MessageDigest digest;
    private byte[] data;
    private int length;

    /**
     * @param expected the announced length, or -1
     * @param max      the most bytes accepted (the route's body limit applies first; this is the array's bound)
     */
    public ChunkBody(long expected, int max) {
        this.max = max;
        this.expected = expected;
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void accept(ByteBuf piece) throws IOException {
        int n = piece.readableBytes();
        if (n > max - length) {
            throw new IOException("chunk larger than " + max + " bytes");
        }
        if (data == null) {
            // Allocated with the first bytes, not at the head: until then the request holds nothing.
            data = new byte[(int) Math.max(n, Math.min(max, expected >= 0 ? expected : INITIAL))];
        }
        if (length + n > data.length) {
            byte[] bigger = new byte[(int) Math.min(max, Math.max((long) data.length * 2, length + n))];
            System.arraycopy(data, 0, bigger, 0, length);
            data = bigger;
        }
        piece.getBytes(piece.readerIndex(), data, length, n);
        digest.update(data, length, n);
        length += n;
    }

    @Override
    public Chunk finish() {
        return new Chunk(data == null ? new byte[0] : data, length, HexFormat.of().formatHex(digest.digest()));
    }

    @Override
    public long retainedBytes() {
        return data == null ? 0 : data.length;
    }
}
