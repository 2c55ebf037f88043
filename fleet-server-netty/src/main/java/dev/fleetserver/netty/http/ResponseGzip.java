package dev.fleetserver.netty.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * Gzip of route answers, as the original does it ({@code server.compression_level}, {@code compression_threshold}):
 * only when the request's {@code Accept-Encoding} is exactly {@code gzip} (what Elastic Agent's Go client sends) and
 * the body is longer than the threshold. Done by the exchange when it writes an answer, not by a per-connection
 * compressor handler: checkin answers are whole byte arrays already, and a handler would cost every parked
 * connection a pipeline context and the compressor's state. One instance per listener.
 */
public final class ResponseGzip {
    /** No compression. */
    public static final ResponseGzip OFF = new ResponseGzip(0, 0);

    private final int level;
    private final int threshold;

    /**
     * @param level     1 (fastest) to 9 (smallest); 0 disables; negative means the default (6)
     * @param threshold bodies longer than this many bytes are compressed
     */
    public ResponseGzip(int level, int threshold) {
        this.level = level < 0 ? 6 : Math.min(level, 9);
        this.threshold = Math.max(0, threshold);
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

    /** {@code parts}, concatenated and gzipped. */
    byte[] gzip(byte[][] parts, int length) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, length / 4));
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 8192) {
            {
                def.setLevel(level);
            }
        }) {
            for (byte[] p : parts) {
                gz.write(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
