package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.compression.JdkZlibDecoder;
import io.netty.handler.codec.compression.ZlibWrapper;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpContentDecoder;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * A request body's limits and decoding, while it streams in and before anything buffers it:
 * <ol>
 *   <li>the route's limit on the body as sent ({@code max_body_byte_size}): a {@code Content-Length} above it is
 *       refused at the head, a chunked body once it grows past it;</li>
 *   <li>Netty's {@link HttpContentDecompressor} for {@code gzip} and {@code deflate} bodies, with the inflater's output
 *       buffer capped at the route's decompressed limit (Netty's own inflates each received chunk completely, so an
 *       8 KiB chunk of a gzip bomb would become about 8 MiB in one allocation); other encodings pass undecoded;</li>
 *   <li>the route's limit on the decompressed body ({@code max_body_decompressed}), counted over what the inflater
 *       produced: a gzip bomb stops here.</li>
 * </ol>
 * A request over a limit, or whose body is not valid gzip, gets the original's 400 and the connection is closed, so
 * the rest of the body is never read; the answer is written from here, as the request never reaches the handlers
 * behind. One handler rather than three because each handler costs every parked connection a pipeline context.
 */
public final class BoundedDecompressor extends HttpContentDecoder {
    private static final String TOO_LARGE = "http: request body too large";

    private final BodyLimits.Lookup lookup;
    /** The current request's limits; null before the first. */
    private BodyLimits limits;
    private long rawSeen;
    private long decodedSeen;
    private boolean rejected;

    public BoundedDecompressor(BodyLimits.Lookup lookup) {
        this.lookup = lookup;
    }

    /** The decompressed body would exceed the route's limit. */
    static final class BodyTooLarge extends DecompressionException {
        BodyTooLarge(long limit) {
            super("decompressed body exceeds " + limit + " bytes");
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, HttpObject msg, List<Object> out) throws Exception {
        // What is not passed on here is released by the caller (MessageToMessageDecoder).
        if (msg instanceof HttpRequest request) {
            limits = lookup.of(request);
            rawSeen = 0;
            decodedSeen = 0;
            rejected = false;
            if (HttpUtil.getContentLength(request, -1L) > limits.raw()) {
                reject(ctx, TOO_LARGE);
                return;
            }
        }
        if (rejected) {
            return;
        }
        if (msg instanceof HttpContent content) {
            rawSeen += content.content().readableBytes();
            if (rawSeen > limits.raw()) {
                reject(ctx, TOO_LARGE);
                return;
            }
        }
        int from = out.size();
        try {
            super.decode(ctx, msg, out);
        } catch (BodyTooLarge e) {
            discard(out, from);
            reject(ctx, TOO_LARGE);
            return;
        } catch (DecompressionException e) {
            discard(out, from);
            reject(ctx, "unable to decode request body: " + e.getMessage());
            return;
        }
        for (int i = from; i < out.size(); i++) {
            if (out.get(i) instanceof HttpContent content) {
                decodedSeen += content.content().readableBytes();
            }
        }
        if (decodedSeen > limits.decompressed()) {
            discard(out, from);
            reject(ctx, TOO_LARGE);
        }
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
        long limit = limits.decompressed();
        // One byte more than the limit: filling it proves the body too large without inflating any further.
        int cap = (int) Math.min(Integer.MAX_VALUE, limit + 1);
        return new EmbeddedChannel(ctx.channel().id(), ctx.channel().metadata().hasDisconnect(), ctx.channel().config(),
                new JdkZlibDecoder(wrapper, cap) {
                    @Override
                    protected void decompressionBufferExhausted(ByteBuf buffer) {
                        super.decompressionBufferExhausted(buffer);
                        throw new BodyTooLarge(limit);
                    }
                });
    }

    private static void discard(List<Object> out, int from) {
        for (int i = out.size() - 1; i >= from; i--) {
            ReferenceCountUtil.release(out.remove(i));
        }
    }

    private void reject(ChannelHandlerContext ctx, String detail) {
        rejected = true;
        ctx.writeAndFlush(ErrorMapper.response(FleetException.badRequest(detail), true)).addListener(ChannelFutureListener.CLOSE);
    }
}
