package dev.fleetserver.netty.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.compression.JdkZlibDecoder;
import io.netty.handler.codec.compression.ZlibWrapper;
import io.netty.handler.codec.http.HttpHeaderValues;
import java.util.function.Consumer;

/**
 * Inflates a request body sent with {@code Content-Encoding: gzip} (or {@code deflate}) in small steps, so that no
 * step produces more than about {@value #MAX_STEP_OUTPUT} bytes whatever the compression ratio: the input is fed to
 * Netty's {@link JdkZlibDecoder} {@value #STEP_INPUT} bytes at a time (deflate inflates at most about 1 032:1), and
 * each step's output is handed on and released before the next step runs. A gzip bomb therefore costs the same
 * memory as an honest body until the route's decompressed limit stops it. One per request; event loop only.
 */
final class BodyInflater implements AutoCloseable {
    /** Input fed per step. */
    static final int STEP_INPUT = 256;
    /** The decoder's output cap per step: well above what {@value #STEP_INPUT} bytes can inflate to. */
    static final int MAX_STEP_OUTPUT = 512 * 1024;

    private final EmbeddedChannel decoder;

    private BodyInflater(EmbeddedChannel decoder) {
        this.decoder = decoder;
    }

    /**
     * @param contentEncoding the request's {@code Content-Encoding}, or null
     * @return an inflater for {@code gzip}/{@code x-gzip}/{@code deflate}/{@code x-deflate}, or null when the body is to
     *         be taken as sent (no or another encoding)
     */
    static BodyInflater forEncoding(String contentEncoding, Channel parent) {
        if (contentEncoding == null) {
            return null;
        }
        String e = contentEncoding.trim();
        ZlibWrapper wrapper;
        if (HttpHeaderValues.GZIP.contentEqualsIgnoreCase(e) || HttpHeaderValues.X_GZIP.contentEqualsIgnoreCase(e)) {
            wrapper = ZlibWrapper.GZIP;
        } else if (HttpHeaderValues.DEFLATE.contentEqualsIgnoreCase(e) || HttpHeaderValues.X_DEFLATE.contentEqualsIgnoreCase(e)) {
            wrapper = ZlibWrapper.ZLIB_OR_NONE;
        } else {
            return null;
        }
        return new BodyInflater(new EmbeddedChannel(parent.id(), parent.metadata().hasDisconnect(), parent.config(),
                new JdkZlibDecoder(wrapper, MAX_STEP_OUTPUT)));
    }

    /**
     * Inflates {@code in} (not released here), handing each piece of output to {@code out}, which must release it.
     *
     * @throws io.netty.handler.codec.compression.DecompressionException when the input is not valid compressed data
     */
    void inflate(ByteBuf in, Consumer<ByteBuf> out) {
        int from = in.readerIndex();
        int end = in.writerIndex();
        for (int at = from; at < end; at += STEP_INPUT) {
            decoder.writeInbound(in.retainedSlice(at, Math.min(STEP_INPUT, end - at)));
            drain(out);
        }
    }

    /** Hands on what the decoder still holds at the end of the body. */
    void finish(Consumer<ByteBuf> out) {
        decoder.finish();
        drain(out);
    }

    private void drain(Consumer<ByteBuf> out) {
        for (Object o = decoder.readInbound(); o != null; o = decoder.readInbound()) {
            ByteBuf piece = (ByteBuf) o;
            if (piece.isReadable()) {
                out.accept(piece);
            } else {
                piece.release();
            }
        }
    }

    /** Releases what the decoder holds; a body given up on may end mid-stream, which is no error here. */
    @Override
    public void close() {
        try {
            decoder.finishAndReleaseAll();
        } catch (RuntimeException e) {
            // The decoder reports a truncated or broken stream once more as it closes; the request has its answer.
        }
    }
}
