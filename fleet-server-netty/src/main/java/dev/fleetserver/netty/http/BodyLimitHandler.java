package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.util.ReferenceCountUtil;

/**
 * Enforces a route's body limit while the body streams in, before anything buffers it: a request over the limit
 * gets the original's 400 and the connection is closed, so the rest of the body is never read. Answers are written
 * from here, before the response compressor, which only expects answers to requests it has seen. One instance sits
 * before the decompressor (limit as sent) and one after it (limit decompressed, which stops gzip bombs).
 */
public final class BodyLimitHandler extends ChannelInboundHandlerAdapter {
    private final BodyLimits.Lookup limits;
    private final boolean decompressed;
    private long limit = -1;
    private long seen;
    private boolean rejected;

    public BodyLimitHandler(BodyLimits.Lookup limits, boolean decompressed) {
        this.limits = limits;
        this.decompressed = decompressed;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            BodyLimits route = limits.of(request);
            limit = decompressed ? route.decompressed() : route.raw();
            seen = 0;
            rejected = false;
            if (!decompressed && HttpUtil.getContentLength(request, -1L) > limit) {
                reject(ctx, msg);
                return;
            }
        }
        if (rejected) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpContent content) {
            seen += content.content().readableBytes();
            if (seen > limit) {
                reject(ctx, msg);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** A body that is not valid gzip (the decompressor sits right before the decompressed-limit instance). */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (decompressed && cause instanceof BoundedDecompressor.BodyTooLarge && !rejected) {
            rejected = true;
            answer(ctx, "http: request body too large");
            return;
        }
        if (decompressed && cause instanceof DecompressionException && !rejected) {
            rejected = true;
            answer(ctx, "unable to decode request body: " + cause.getMessage());
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private void reject(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
        rejected = true;
        answer(ctx, "http: request body too large");
    }

    private void answer(ChannelHandlerContext ctx, String detail) {
        FullHttpResponse response = ErrorMapper.response(FleetException.badRequest(detail), true);
        // Written from here, not through the route: the request never reaches the handlers behind us.
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
