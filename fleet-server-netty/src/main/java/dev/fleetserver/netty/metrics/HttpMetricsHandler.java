package dev.fleetserver.netty.metrics;

import dev.fleetserver.netty.http.ResponseComplete;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Counts one connection's requests and answers per route, and writes the access log line of each request (DEBUG,
 * logger {@code dev.fleetserver.netty.access}, with the request id in the MDC as {@value #REQUEST_ID}). Sits right
 * after the pipelining guard, so it sees one request at a time, its body as sent and its answer as written,
 * including answers written by the handlers before the route (timeouts, rate limits); the request ends on
 * {@link ResponseComplete}. Per-connection state: one reference. Event loop only.
 */
public final class HttpMetricsHandler extends ChannelDuplexHandler {
    /** MDC key of the request id on log lines written while a request is handled (the ECS field name). */
    public static final String REQUEST_ID = "http.request.id";
    private static final Logger ACCESS = LoggerFactory.getLogger("dev.fleetserver.netty.access");
    private static final ByteBuf MAX_LIMIT = constant("\"MaxLimit\"");
    private static final ByteBuf RATE_LIMIT = constant("\"RateLimit\"");
    private static final ByteBuf STATUS_CODE = constant("\"statusCode\"");

    private final DaemonMetrics metrics;
    /** The request open on the connection, or null. */
    private Pending current;

    HttpMetricsHandler(DaemonMetrics metrics) {
        this.metrics = metrics;
    }

    /** One request between its first line and the end of its answer. */
    private static final class Pending {
        final RouteStats route;
        final long startNanos;
        /** Method and target for the access log; only kept when that log is on (parked checkins stay small). */
        final String line;
        String requestId;
        int status;
        long bytesOut;

        Pending(RouteStats route, long startNanos, String line, String requestId) {
            this.route = route;
            this.startNanos = startNanos;
            this.line = line;
            this.requestId = requestId;
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        metrics.connectionOpened();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        metrics.connectionClosed();
        dropped();
    }

    /** The open request will not be answered: the client left, or the connection was closed under it. */
    private void dropped() {
        Pending p = current;
        current = null;
        if (p != null && p.route != null) {
            p.route.active.decrementAndGet();
            p.route.dropped.increment();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            RouteStats route = metrics.routes().match(request.method(), request.uri());
            if (route != null) {
                route.total.increment();
                route.active.incrementAndGet();
            }
            boolean log = ACCESS.isDebugEnabled();
            // The guard in front lets a request in only once the previous one is over.
            dropped();
            current = new Pending(route, log ? System.nanoTime() : 0L, log ? request.method() + " " + path(request.uri()) : null,
                    log ? request.headers().get("X-Request-Id") : null);
        }
        if (msg instanceof HttpContent content && current != null && current.route != null) {
            current.route.bodyIn.increment(content.content().readableBytes());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        Pending p = current;
        if (p != null) {
            if (msg instanceof HttpResponse response) {
                // 100 Continue and friends precede the real answer.
                if (ResponseComplete.isFinal(response)) {
                    p.status = response.status().code();
                    String id = response.headers().get("X-Request-Id");
                    if (id != null) {
                        p.requestId = id;
                    }
                    if (p.status == 429 && msg instanceof HttpContent full) {
                        RouteStats.Limit limit = limitOf(full.content());
                        if (limit == RouteStats.Limit.CAPACITY) {
                            metrics.connectionRejected();
                        } else if (p.route != null) {
                            p.route.answered(429, limit);
                        }
                        p.status = -p.status; // counted already
                    }
                }
            }
            if (msg instanceof HttpContent content && p.status != 0) {
                int n = content.content().readableBytes();
                p.bytesOut += n;
                if (p.route != null) {
                    p.route.bodyOut.increment(n);
                }
            }
        }
        ctx.write(msg, promise);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == ResponseComplete.INSTANCE && current != null) {
            Pending p = current;
            current = null;
            finished(p);
        }
        super.userEventTriggered(ctx, evt);
    }

    private void finished(Pending p) {
        int status = Math.abs(p.status);
        if (p.route != null) {
            p.route.active.decrementAndGet();
            if (p.status > 0) {
                p.route.answered(status, RouteStats.Limit.NONE);
            }
        }
        if (p.line != null && ACCESS.isDebugEnabled()) {
            MDC.put(REQUEST_ID, p.requestId);
            try {
                ACCESS.debug("{} {} {}B {}ms", p.line, status, p.bytesOut, (System.nanoTime() - p.startNanos) / 1_000_000);
            } finally {
                MDC.remove(REQUEST_ID);
            }
        }
    }

    /**
     * What a 429 body says: the route limiter's {@code MaxLimit} / {@code RateLimit} errors, else the global in-flight
     * cap when it is not our JSON error shape (the original answers that one in plain text), else an ordinary 4xx.
     */
    private static RouteStats.Limit limitOf(ByteBuf body) {
        if (ByteBufUtil.indexOf(MAX_LIMIT.duplicate(), body) >= 0) {
            return RouteStats.Limit.MAX;
        }
        if (ByteBufUtil.indexOf(RATE_LIMIT.duplicate(), body) >= 0) {
            return RouteStats.Limit.RATE;
        }
        return ByteBufUtil.indexOf(STATUS_CODE.duplicate(), body) >= 0 ? RouteStats.Limit.NONE : RouteStats.Limit.CAPACITY;
    }

    private static ByteBuf constant(String s) {
        return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.US_ASCII)));
    }

    private static String path(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }
}
