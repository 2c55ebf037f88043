package dev.fleetserver.netty.http;

import dev.fleetserver.netty.limit.Admission;
import dev.fleetserver.netty.limit.Rejection;
import dev.fleetserver.netty.limit.RouteBuckets;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * Admission control of one connection, at the request head, before any of the body is buffered: asks the
 * listener's {@link Admission} and either lets the request through, holding its ticket until the answer has been
 * written out ({@link ResponseComplete}) or the connection closes (a parked checkin holds it while parked), or
 * answers 429 itself (mapped by {@link ErrorMapper}, with {@code Retry-After}) and discards the body. A rejected
 * body longer than {@link #DRAIN_LIMIT} is not read: the answer then closes the connection. Sits after the
 * pipelining guard, so the request it sees is the only one open on the connection and its answer cannot overtake
 * another.
 */
public final class AdmissionHandler extends ChannelInboundHandlerAdapter {
    /** Most body bytes of a rejected request read (and dropped) to keep the connection; more closes it. */
    static final long DRAIN_LIMIT = 64 * 1024;

    private final Admission admission;
    private Admission.Ticket ticket;
    private boolean dropping;
    private long dropped;

    public AdmissionHandler(Admission admission) {
        this.admission = admission;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request && !request.decoderResult().isFailure()) {
            dropping = false;
            try {
                release();
                ticket = admission.admit(RouteBuckets.of(request.uri()));
            } catch (Rejection r) {
                boolean bodyFollows = !(msg instanceof LastHttpContent);
                long length = HttpUtil.getContentLength(request, -1L);
                boolean chunked = HttpUtil.isTransferEncodingChunked(request);
                ReferenceCountUtil.release(msg);
                boolean close = bodyFollows && (chunked || length > DRAIN_LIMIT);
                dropping = bodyFollows && !close;
                dropped = 0;
                var written = ctx.writeAndFlush(ErrorMapper.response(r, close));
                if (close) {
                    written.addListener(ChannelFutureListener.CLOSE);
                }
                return;
            }
        } else if (dropping && msg instanceof HttpContent content) {
            dropped += content.content().readableBytes();
            boolean last = msg instanceof LastHttpContent;
            ReferenceCountUtil.release(msg);
            if (last) {
                dropping = false;
            } else if (dropped > DRAIN_LIMIT) {
                ctx.close();
            }
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == ResponseComplete.INSTANCE) {
            // The answer is out: the request's slots are free for the next one.
            release();
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        release();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
    }

    private void release() {
        if (ticket != null) {
            ticket.release();
            ticket = null;
        }
    }
}
