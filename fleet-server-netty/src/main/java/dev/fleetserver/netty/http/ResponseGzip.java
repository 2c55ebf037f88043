package dev.fleetserver.netty.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Gzip of route answers, as the original does it ({@code server.compression_level}, {@code compression_threshold}):
 * only when the request's {@code Accept-Encoding} is exactly {@code gzip} (what Elastic Agent's Go client sends) and
 * the body is longer than the threshold. Done by the exchange when it writes an answer, not by a per-connection
 * compressor handler: checkin answers are whole byte arrays already, and a handler would cost every parked
 * connection a pipeline context and the compressor's state. One instance per listener.
 *
 * <p>An answer is gzipped as a series of gzip members (RFC 1952 §2.2: a gzip file is a series of members, and
 * decoders read them as one stream; Go's {@code gzip.Reader}, which Elastic Agent uses, and the JDK's
 * {@code GZIPInputStream} do). A part an answer marks shared — a policy revision's serialised segments, the same array
 * in every agent's POLICY_CHANGE — is compressed once into its own member, which is kept (by the array's identity,
 * weakly, at most {@link #SHARED_CACHE_BYTES}) and handed to every later answer as it is; the parts between (an
 * agent's id, its output keys) are compressed per answer, each run of them into one small member. So a fan-out of one
 * revision to thousands of agents compresses the policy once, not once per agent, and every answer decodes to exactly
 * the bytes it would have had uncompressed.
 */
public final class ResponseGzip {
    /** No compression. */
    public static final ResponseGzip OFF = new ResponseGzip(0, 0);
    /** Bound on the kept members of shared parts (a few revisions of the largest policies). */
    static final long SHARED_CACHE_BYTES = 64L * 1024 * 1024;
    /** RFC 1952 header: magic, deflate, no flags, no time, no extra flags, OS unknown. */
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, Deflater.DEFLATED, 0, 0, 0, 0, 0, 0, (byte) 0xff};
    /** Where the deflater writes, one per thread: a fan-out compresses a member or two for every agent. */
    private static final ThreadLocal<byte[]> OUTPUT_BUFFERS = ThreadLocal.withInitial(() -> new byte[8192]);

    private final int level;
    private final int threshold;
    private final Cache<byte[], byte[]> sharedMembers;
    private final ThreadLocal<Deflater> deflaters;
    private final LongAdder sharedCompressed = new LongAdder();

    /**
     * @param level     1 (fastest) to 9 (smallest); 0 disables; negative means the default (6)
     * @param threshold bodies longer than this many bytes are compressed
     */
    public ResponseGzip(int level, int threshold) {
        this.level = level < 0 ? 6 : Math.min(level, 9);
        this.threshold = Math.max(0, threshold);
        // Weak keys compare by identity: a part is found again only as the very array a later answer carries.
        this.sharedMembers = Caffeine.newBuilder().weakKeys().maximumWeight(SHARED_CACHE_BYTES)
                .weigher((byte[] part, byte[] member) -> member.length).build();
        int l = this.level;
        // One deflater per thread, reset after each member: a new one costs ~256 KB of native memory.
        this.deflaters = ThreadLocal.withInitial(() -> new Deflater(l, true));
    }

    /** Whether answers to {@code request} may be gzipped: enabled, and {@code Accept-Encoding} is exactly gzip. */
    boolean accepts(HttpRequest request) {
        if (level == 0) {
            return false;
        }
        List<String> values = request.headers().getAll(HttpHeaderNames.ACCEPT_ENCODING);
        // Several headers are joined with commas (as Netty's compressor saw them): never exactly "gzip".
        return values.size() == 1 && values.get(0).trim().equals("gzip");
    }

    /** Whether a body of {@code length} bytes, for a request that {@link #accepts} gzip, is compressed. */
    boolean compresses(int length) {
        return level != 0 && length > threshold;
    }

    /** {@code parts}, concatenated and gzipped, as one member. */
    byte[] gzip(byte[][] parts, int length) {
        byte[][] members = gzip(parts, null);
        return members.length == 1 ? members[0] : concat(members);
    }

    /**
     * {@code parts}, concatenated and gzipped, as the members to send back to back (their concatenation is the gzip
     * body). Members of {@code shared} parts are made once and the same arrays returned every time: callers must not
     * mutate them.
     *
     * @param shared one flag per part, or null when none is shared
     */
    byte[][] gzip(byte[][] parts, boolean[] shared) {
        List<byte[]> members = new ArrayList<>(3);
        int runStart = -1;
        for (int i = 0; i < parts.length; i++) {
            if (shared != null && shared[i] && parts[i].length > 0) {
                if (runStart >= 0) {
                    members.add(member(parts, runStart, i));
                    runStart = -1;
                }
                members.add(sharedMembers.get(parts[i], part -> {
                    sharedCompressed.increment();
                    return member(new byte[][] {part}, 0, 1);
                }));
            } else if (runStart < 0) {
                runStart = i;
            }
        }
        if (runStart >= 0 || members.isEmpty()) {
            members.add(member(parts, Math.max(runStart, 0), parts.length));
        }
        return members.toArray(new byte[0][]);
    }

    /** How many shared parts have been compressed (each once, however many answers carried it). */
    long sharedPartsCompressed() {
        return sharedCompressed.sum();
    }

    /** One gzip member holding {@code parts[from..to)} back to back. */
    private byte[] member(byte[][] parts, int from, int to) {
        Deflater deflater = deflaters.get();
        CRC32 crc = new CRC32();
        long size = 0;
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        out.writeBytes(HEADER);
        byte[] buf = OUTPUT_BUFFERS.get();
        try {
            for (int i = from; i < to; i++) {
                byte[] p = parts[i];
                if (p.length == 0) {
                    continue;
                }
                crc.update(p);
                size += p.length;
                deflater.setInput(p);
                while (!deflater.needsInput()) {
                    int n = deflater.deflate(buf, 0, buf.length, Deflater.NO_FLUSH);
                    out.write(buf, 0, n);
                }
            }
            deflater.finish();
            while (!deflater.finished()) {
                int n = deflater.deflate(buf);
                out.write(buf, 0, n);
            }
        } finally {
            deflater.reset();
        }
        writeIntLe(out, (int) crc.getValue());
        writeIntLe(out, (int) size);
        return out.toByteArray();
    }

    private static void writeIntLe(ByteArrayOutputStream out, int v) {
        out.write(v);
        out.write(v >>> 8);
        out.write(v >>> 16);
        out.write(v >>> 24);
    }

    private static byte[] concat(byte[][] members) {
        int n = 0;
        for (byte[] m : members) {
            n += m.length;
        }
        byte[] out = new byte[n];
        int pos = 0;
        for (byte[] m : members) {
            System.arraycopy(m, 0, out, pos, m.length);
            pos += m.length;
        }
        return out;
    }
}
