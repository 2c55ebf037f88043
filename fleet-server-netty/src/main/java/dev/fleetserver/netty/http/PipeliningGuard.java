package dev.fleetserver.netty.http;

import dev.fleetserver.netty.limit.BodyBudget;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * HTTP/1.1 pipelining, handled safely: the handlers behind this one see one request at a time. A request that
 * arrives while the previous one is open (its answer not yet written out to the socket, e.g. behind a parked
 * checkin) waits here, with its body, and is passed on once that answer has been flushed. So every early answer
 * further down (429, 400 for a body too large, 408) is in order, and a client that sends requests but never reads
 * answers gets at most one answer buffered: no new request is served while the last answer is still unsent. What
 * waits here is capped at {@link #MAX_WAITING_BYTES} (roughly one large request) per connection and charged to the
 * process's {@link BodyBudget}; beyond either the connection is closed, which is how clients that pipeline without
 * bound are refused, one or many. It is also the one place that tells when a request is over: once an answer has
 * been written out it fires {@link ResponseComplete} to the handlers behind it, then passes on the next request.
 */
public final class PipeliningGuard extends ChannelDuplexHandler {
    static final long MAX_WAITING_BYTES = 2L * 1024 * 1024;
    /** What a waiting message costs besides its content (the message object, its headers). */
    static final int MESSAGE_COST = 256;

    private final BodyBudget budget;
    private boolean open;
    private boolean informational;
    private ArrayDeque<Object> waiting;
    private long waitingBytes;

    public PipeliningGuard(BodyBudget budget) {
        this.budget = budget;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (waiting != null && !waiting.isEmpty() || open && msg instanceof HttpRequest) {
            hold(ctx, msg);
            return;
        }
        if (msg instanceof HttpRequest) {
            open = true;
        }
        ctx.fireChannelRead(msg);
    }

    private void hold(ChannelHandlerContext ctx, Object msg) {
        if (waiting == null) {
            waiting = new ArrayDeque<>(4);
        }
        long cost = cost(msg);
        if (waitingBytes + cost > MAX_WAITING_BYTES || !budget.tryAcquire(cost)) {
            ReferenceCountUtil.release(msg);
            drop();
            ctx.close();
            return;
        }
        waiting.add(msg);
        waitingBytes += cost;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse response) {
            informational = !ResponseComplete.isFinal(response);
        }
        if (msg instanceof LastHttpContent && !informational) {
            promise = promise.unvoid();
            promise.addListener(f -> {
                if (f.isSuccess()) {
                    open = false;
                    // Everything behind finishes this request before the next one is let in.
                    ctx.fireUserEventTriggered(ResponseComplete.INSTANCE);
                    next(ctx);
                } else {
                    // An answer cut short leaves the connection in no state to go on.
                    ctx.close();
                }
            });
        }
        super.write(ctx, msg, promise);
    }

    /** Passes on the next waiting request and its body as far as it has arrived. */
    private void next(ChannelHandlerContext ctx) {
        if (waiting == null || waiting.isEmpty() || open) {
            return;
        }
        boolean fired = false;
        while (!waiting.isEmpty()) {
            Object msg = waiting.peek();
            if (msg instanceof HttpRequest) {
                if (open) {
                    break;
                }
                open = true;
            }
            waiting.poll();
            long cost = cost(msg);
            waitingBytes -= cost;
            budget.release(cost);
            fired = true;
            ctx.fireChannelRead(msg);
        }
        if (fired) {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        drop();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        drop();
    }

    private void drop() {
        if (waiting != null) {
            waiting.forEach(ReferenceCountUtil::release);
            waiting.clear();
            budget.release(waitingBytes);
            waitingBytes = 0;
        }
    }

    private static long cost(Object msg) {
        return MESSAGE_COST + (msg instanceof ByteBufHolder b ? b.content().readableBytes() : 0);
    }
}
