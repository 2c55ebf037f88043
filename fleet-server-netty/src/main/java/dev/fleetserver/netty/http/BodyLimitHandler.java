package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.util.Json;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.util.ReferenceCountUtil;

/**
 * Enforces a route's body limit while the body streams in, before anything buffers it: a request over the limit
 * gets the original's 400 and the connection is closed, so the rest of the body is never read. Answers are written
 * from here, before the response compressor, which only expects answers to requests it has seen. One instance sits
 * before the decompressor (limit as sent) and one after it (limit decompressed, which stops gzip bombs).
 */
public final class BodyLimitHandler extends ChannelInboundHandlerAdapter {
    private final Routes routes;
    private final boolean decompressed;
    private long limit = -1;
    private long seen;
    private boolean rejected;

    public BodyLimitHandler(Routes routes, boolean decompressed) {
        this.routes = routes;
        this.decompressed = decompressed;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            BodyLimits limits = routes.limitsFor(request.method(), request.uri());
            limit = decompressed ? limits.decompressed() : limits.raw();
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
        ErrorMapper.Mapped m = ErrorMapper.map(FleetException.badRequest(detail));
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, m.status(),
                Unpooled.wrappedBuffer(Json.bytes(m.body())));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, Exchange.JSON_UTF8);
        response.headers().set(Exchange.X_CONTENT_TYPE_OPTIONS, Exchange.NOSNIFF);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        response.headers().set(HttpHeaderNames.CONNECTION, "close");
        // Written from here, not through the route: the request never reaches the handlers behind us.
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
