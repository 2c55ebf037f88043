package dev.fleetserver.netty.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Closes a keep-alive connection that stays idle between requests for longer than the idle timeout. The timer runs
 * only while no request is open, so a parked checkin (minutes long) is never touched by it.
 */
public final class IdleBetweenRequestsHandler extends ChannelDuplexHandler {
    private final long idleNanos;
    private int open;
    private ScheduledFuture<?> timer;

    public IdleBetweenRequestsHandler(Duration idle) {
        this.idleNanos = idle.toNanos();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        arm(ctx);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest) {
            open++;
            disarm();
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof LastHttpContent) {
            open = Math.max(0, open - 1);
            if (open == 0) {
                arm(ctx);
            }
        }
        super.write(ctx, msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        disarm();
        super.channelInactive(ctx);
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        if (idleNanos > 0) {
            timer = ctx.executor().schedule(() -> {
                if (open == 0) {
                    ctx.close();
                }
            }, idleNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
