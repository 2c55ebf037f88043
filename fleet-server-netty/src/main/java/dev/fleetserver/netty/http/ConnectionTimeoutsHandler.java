package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.netty.config.TimeoutsConfig;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The timeouts of the original's HTTP server ({@code timeouts.read_header}, {@code timeouts.read},
 * {@code timeouts.write}, {@code timeouts.idle}), measured the way Go measures them on a kept-alive connection but
 * never while a route holds the request:
 * <ul>
 *   <li>read header: from the first bytes of a request to the end of its head. On expiry the connection is closed
 *       without an answer (as Go). Unlike Go, the first request of a connection is timed from its first bytes too,
 *       not from the accept: until then the connection is idle. A request that waited unread in the socket while
 *       the event loop was behind (a server just started, tens of thousands of agents reconnecting) is then read
 *       and answered instead of reset; a connection that never sends anything is closed by the idle timeout.</li>
 *   <li>read: from the same first bytes to the end of the request body. On expiry the client gets 408
 *       {@code RequestTimeout} and the connection is closed.</li>
 *   <li>write: from the first byte of an answer until the whole answer has been handed to the socket. On expiry
 *       the connection is closed: a client that does not read its answer cannot hold it in memory for longer.
 *       (Go's write timeout also counts the handler's own time; here the route's time is the long poll's
 *       business.)</li>
 *   <li>idle: while no request is open (from the connection's start or the end of an answer to the next request
 *       head), a connection is closed after this long.</li>
 * </ul>
 * Between the end of the body and the first byte of the answer — a parked checkin, minutes long — no timer runs.
 * One handler for all four, not one per timeout: every handler costs each of tens of thousands of parked
 * connections a pipeline context. A request ends on {@link ResponseComplete}. Sits after the pipelining guard (one
 * request at a time), and sees every read of the socket through {@code channelReadComplete}, which the HTTP codec
 * passes on even when the bytes read do not finish a request head. A zero duration disables its timer. All timers
 * run on the connection's event loop.
 */
public final class ConnectionTimeoutsHandler extends ChannelDuplexHandler {

    /** The four durations in nanoseconds, shared by a listener's connections; 0 disables one. */
    public record Limits(long readHeaderNanos, long readNanos, long writeNanos, long idleNanos) {
        public static Limits of(TimeoutsConfig timeouts) {
            return new Limits(timeouts.readHeader().toNanos(), timeouts.read().toNanos(), timeouts.write().toNanos(),
                    timeouts.idle().toNanos());
        }
    }

    private final Limits limits;
    /**
     * {@link System#nanoTime()} when the connection last became idle (no request open), or {@link #IN_REQUEST}.
     * Volatile: read by {@link #busy} and {@link #idleNanos} from the shutdown thread.
     */
    private volatile long idleSince;
    private boolean readSomething;
    private ScheduledFuture<?> headerTimer;
    private ScheduledFuture<?> readTimer;
    private ScheduledFuture<?> writeTimer;
    private ScheduledFuture<?> idleTimer;

    private static final long IN_REQUEST = Long.MIN_VALUE;

    public ConnectionTimeoutsHandler(Limits limits) {
        this.limits = limits;
        this.idleSince = System.nanoTime();
    }

    /** Whether a request is open on {@code ch} (head read, answer not yet written). Any thread. */
    public static boolean busy(Channel ch) {
        ConnectionTimeoutsHandler h = ch.pipeline().get(ConnectionTimeoutsHandler.class);
        return h != null && ch.isActive() && h.idleSince == IN_REQUEST;
    }

    /** How long {@code ch} has been without an open request, 0 while one is open or when unknown. Any thread. */
    public static long idleNanos(Channel ch) {
        ConnectionTimeoutsHandler h = ch.pipeline().get(ConnectionTimeoutsHandler.class);
        if (h == null) {
            return 0;
        }
        long since = h.idleSince;
        return since == IN_REQUEST ? 0 : Math.max(0, System.nanoTime() - since);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        // Until its first bytes are read, a new connection is idle, as a kept-alive one between requests: the
        // header and body clocks start at the first bytes. Started at accept, they would also count the time the
        // request waits unread in the socket while the event loop is behind (tens of thousands of agents
        // reconnecting to a server that has just started), and closing then resets a client that did nothing wrong.
        armIdle(ctx);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        readSomething = true;
        if (msg instanceof HttpRequest) {
            headerTimer = cancel(headerTimer);
            idleTimer = cancel(idleTimer);
            idleSince = IN_REQUEST;
            if (readTimer == null && limits.readNanos() > 0 && !(msg instanceof LastHttpContent)) {
                // A request that waited behind another one in the pipelining guard: its body time starts now.
                readTimer = ctx.executor().schedule(() -> readTimedOut(ctx), limits.readNanos(), TimeUnit.NANOSECONDS);
            }
        }
        if (msg instanceof LastHttpContent) {
            readTimer = cancel(readTimer);
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (!readSomething && idleSince != IN_REQUEST && headerTimer == null && readTimer == null) {
            // A read that finished nothing while no request is open: bytes of a new request head on a kept-alive
            // connection. (A read that finished a request, even one answered at once, is not a new start.)
            requestStarts(ctx);
        }
        readSomething = false;
        super.channelReadComplete(ctx);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse response && ResponseComplete.isFinal(response)) {
            // Answered: however the request's head or body comes on, it is no longer timed.
            headerTimer = cancel(headerTimer);
            readTimer = cancel(readTimer);
            if (writeTimer == null && limits.writeNanos() > 0) {
                writeTimer = ctx.executor().schedule(() -> {
                    writeTimer = null;
                    ctx.close();
                }, limits.writeNanos(), TimeUnit.NANOSECONDS);
            }
        }
        super.write(ctx, msg, promise);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == ResponseComplete.INSTANCE) {
            // Idle from the end of the answer on the socket, not from when it was handed over: a large answer (an
            // artifact) to a slow reader may take longer to send than the idle timeout.
            writeTimer = cancel(writeTimer);
            idleSince = System.nanoTime();
            armIdle(ctx);
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelAll();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelAll();
    }

    private void requestStarts(ChannelHandlerContext ctx) {
        if (limits.readHeaderNanos() > 0) {
            headerTimer = ctx.executor().schedule(() -> {
                headerTimer = null;
                ctx.close();
            }, limits.readHeaderNanos(), TimeUnit.NANOSECONDS);
        }
        if (limits.readNanos() > 0) {
            readTimer = ctx.executor().schedule(() -> readTimedOut(ctx), limits.readNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void armIdle(ChannelHandlerContext ctx) {
        idleTimer = cancel(idleTimer);
        if (limits.idleNanos() > 0) {
            idleTimer = ctx.executor().schedule(() -> {
                idleTimer = null;
                if (idleSince != IN_REQUEST) {
                    ctx.close();
                }
            }, limits.idleNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void readTimedOut(ChannelHandlerContext ctx) {
        readTimer = null;
        if (idleSince != IN_REQUEST) {
            ctx.close();
            return;
        }
        // The head went on but its body did not arrive in time; nothing behind us has answered (the aggregator
        // still waits for the body), so the answer is ours.
        ctx.writeAndFlush(ErrorMapper.response(new FleetException(FleetError.REQUEST_TIMEOUT), true))
                .addListener(ChannelFutureListener.CLOSE);
    }

    private void cancelAll() {
        headerTimer = cancel(headerTimer);
        readTimer = cancel(readTimer);
        writeTimer = cancel(writeTimer);
        idleTimer = cancel(idleTimer);
    }

    private static ScheduledFuture<?> cancel(ScheduledFuture<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
        return null;
    }
}
