package dev.fleetserver.netty.metrics;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Counts one connection's requests and answers per route, and writes the access log line of each request (DEBUG,
 * logger {@code dev.fleetserver.netty.access}, with the request id in the MDC as {@value #REQUEST_ID}). Sits right
 * after the HTTP codec, so it sees bodies as sent and answers as written, including answers written by handlers
 * before the route handler (body limits, rate limits). Answers come in request order (HTTP/1.1), so the requests
 * awaiting an answer are a short FIFO. Per-connection state: three references. Event loop only.
 */
public final class HttpMetricsHandler extends ChannelDuplexHandler {
    /** MDC key of the request id on log lines written while a request is handled (the ECS field name). */
    public static final String REQUEST_ID = "http.request.id";
    private static final Logger ACCESS = LoggerFactory.getLogger("dev.fleetserver.netty.access");
    private static final ByteBuf MAX_LIMIT = constant("\"MaxLimit\"");
    private static final ByteBuf RATE_LIMIT = constant("\"RateLimit\"");
    private static final ByteBuf STATUS_CODE = constant("\"statusCode\"");

    private final DaemonMetrics metrics;
    /** Oldest request not yet answered (the one the next answer belongs to), and the newest. */
    private Pending head;
    private Pending tail;

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
        Pending next;

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
        for (Pending p = head; p != null; p = p.next) {
            if (p.route != null) {
                p.route.active.decrementAndGet();
                p.route.dropped.increment();
            }
        }
        head = tail = null;
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
            Pending p = new Pending(route, log ? System.nanoTime() : 0L, log ? request.method() + " " + path(request.uri()) : null,
                    log ? request.headers().get("X-Request-Id") : null);
            if (tail == null) {
                head = tail = p;
            } else {
                tail.next = p;
                tail = p;
            }
        }
        if (msg instanceof HttpContent content && tail != null && tail.route != null) {
            tail.route.bodyIn.increment(content.content().readableBytes());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        Pending p = head;
        if (p != null) {
            if (msg instanceof HttpResponse response) {
                // 100 Continue and friends precede the real answer.
                if (response.status().code() >= 200) {
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
                if (msg instanceof LastHttpContent) {
                    finished(p);
                }
            }
        }
        ctx.write(msg, promise);
    }

    private void finished(Pending p) {
        head = p.next;
        if (head == null) {
            tail = null;
        }
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
