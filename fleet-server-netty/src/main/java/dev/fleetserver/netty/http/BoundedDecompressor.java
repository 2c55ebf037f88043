package dev.fleetserver.netty.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.compression.JdkZlibDecoder;
import io.netty.handler.codec.compression.ZlibWrapper;
import io.netty.handler.codec.http.HttpContentDecoder;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import java.util.List;

/**
 * Netty's {@link HttpContentDecompressor} for {@code gzip} and {@code deflate} request bodies, with one addition: the
 * inflater's output buffer is capped at the route's decompressed body limit. Netty's own decompressor inflates each
 * received chunk completely, so an 8 KiB chunk of a gzip bomb becomes about 8 MiB in one allocation before anything
 * downstream can count it; here no single chunk's output may exceed the limit (the {@code body_limit} handler behind
 * this one counts the total and cuts the request there). Other encodings pass undecoded, as with Netty's.
 */
public final class BoundedDecompressor extends HttpContentDecoder {
    private final BodyLimits.Lookup limits;
    private int maxAllocation = Integer.MAX_VALUE;

    public BoundedDecompressor(BodyLimits.Lookup limits) {
        this.limits = limits;
    }

    /** The decompressed body would exceed the route's limit; the {@code body_limit} handler answers it. */
    public static final class BodyTooLarge extends DecompressionException {
        BodyTooLarge(int limit) {
            super("decompressed body exceeds " + limit + " bytes");
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, HttpObject msg, List<Object> out) throws Exception {
        if (msg instanceof HttpRequest request) {
            maxAllocation = (int) Math.min(Integer.MAX_VALUE, limits.of(request).decompressed() + 1);
        }
        super.decode(ctx, msg, out);
    }

    @Override
    protected EmbeddedChannel newContentDecoder(String contentEncoding) {
        ZlibWrapper wrapper;
        if (HttpHeaderValues.GZIP.contentEqualsIgnoreCase(contentEncoding)
                || HttpHeaderValues.X_GZIP.contentEqualsIgnoreCase(contentEncoding)) {
            wrapper = ZlibWrapper.GZIP;
        } else if (HttpHeaderValues.DEFLATE.contentEqualsIgnoreCase(contentEncoding)
                || HttpHeaderValues.X_DEFLATE.contentEqualsIgnoreCase(contentEncoding)) {
            wrapper = ZlibWrapper.ZLIB_OR_NONE;
        } else {
            return null;
        }
        int cap = maxAllocation;
        return new EmbeddedChannel(ctx.channel().id(), ctx.channel().metadata().hasDisconnect(), ctx.channel().config(),
                new JdkZlibDecoder(wrapper, cap) {
                    @Override
                    protected void decompressionBufferExhausted(ByteBuf buffer) {
                        super.decompressionBufferExhausted(buffer);
                        throw new BodyTooLarge(cap - 1);
                    }
                });
    }
}
