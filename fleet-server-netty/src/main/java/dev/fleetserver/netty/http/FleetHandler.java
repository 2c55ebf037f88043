package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.netty.metrics.HttpMetricsHandler;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.compression.DecompressionException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a connection: routes each request, answers 404/405 for unknown ones, and keeps the one open
 * exchange (possibly a parked checkin). Requests are answered in order: while one is open the channel stops reading,
 * and pipelined requests already read wait in a small queue. Per-connection state is just these few fields.
 */
public final class FleetHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(FleetHandler.class);
    private static final int MAX_PIPELINED = 16;
    private static final byte[] NOT_FOUND = "404 page not found\n".getBytes(StandardCharsets.UTF_8);
    static final String DEFAULT_API_VERSION = "2023-06-01";
    private static final Pattern API_VERSION_FORMAT = Pattern.compile("^[0-9]{4}-[0-9]{2}-[0-9]{2}$");

    private final Routes routes;
    private final boolean agentApi;
    private final ResponseGzip gzip;
    private Exchange current;
    private ArrayDeque<FullHttpRequest> pipelined;

    /**
     * @param agentApi true for the agent-facing listener (request ids and API version headers, as the original);
     *                 false for the management listener
     */
    public FleetHandler(Routes routes, boolean agentApi) {
        this(routes, agentApi, ResponseGzip.OFF);
    }

    /** @param gzip when answers are gzipped; shared by the listener's connections */
    public FleetHandler(Routes routes, boolean agentApi, ResponseGzip gzip) {
        this.routes = routes;
        this.agentApi = agentApi;
        this.gzip = gzip;
    }

    ResponseGzip gzip() {
        return gzip;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        if (current != null) {
            if (pipelined == null) {
                pipelined = new ArrayDeque<>(2);
            }
            if (pipelined.size() >= MAX_PIPELINED) {
                request.release();
                ctx.close();
                return;
            }
            pipelined.add(request);
            return;
        }
        handle(ctx, request);
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        DecoderResult decoded = request.decoderResult();
        if (decoded.isFailure()) {
            request.release();
            badRequestAndClose(ctx, decoded.cause());
            return;
        }
        String requestId = null;
        CharSequence apiVersion = null;
        if (agentApi) {
            requestId = request.headers().get(Exchange.X_REQUEST_ID);
            apiVersion = DEFAULT_API_VERSION;
        }
        Exchange exchange = new Exchange(ctx, this, request, requestId, apiVersion);
        current = exchange;
        ctx.channel().config().setAutoRead(false);
        Routes.Match match = routes.match(request.method(), request.uri());
        if (match instanceof Routes.NotFound) {
            exchange.respond(HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8", NOT_FOUND);
            return;
        }
        if (match instanceof Routes.WrongMethod) {
            exchange.respond(HttpResponseStatus.METHOD_NOT_ALLOWED, null);
            return;
        }
        Routes.Found found = (Routes.Found) match;
        if (agentApi) {
            String requested = request.headers().get(Exchange.ELASTIC_API_VERSION);
            if (requested != null) {
                if (!API_VERSION_FORMAT.matcher(requested).matches()) {
                    exchange.fail(new FleetException(FleetError.INVALID_API_VERSION_FORMAT, "received \"" + requested
                            + "\", expected a valid date string formatted as YYYY-MM-DD. invalid version format"));
                    return;
                }
                if (!DEFAULT_API_VERSION.equals(requested)) {
                    exchange.fail(new FleetException(FleetError.UNSUPPORTED_API_VERSION, "received \"" + requested
                            + "\", is not supported. supported versions are: [" + DEFAULT_API_VERSION + "] version is not supported"));
                    return;
                }
            }
        }
        exchange.params(found.params());
        // Whatever the route logs while it runs on this thread carries the request id.
        org.slf4j.MDC.put(HttpMetricsHandler.REQUEST_ID, exchange.requestId());
        try {
            found.handler().handle(exchange);
        } catch (RuntimeException e) {
            exchange.fail(e);
        } finally {
            org.slf4j.MDC.remove(HttpMetricsHandler.REQUEST_ID);
        }
    }

    /** Called on the event loop once {@code exchange} has written its answer. */
    void exchangeDone(Exchange exchange) {
        if (exchange != current) {
            return;
        }
        current = null;
        ChannelHandlerContext ctx = exchange.context();
        if (pipelined != null && !pipelined.isEmpty()) {
            handle(ctx, pipelined.poll());
            return;
        }
        ctx.channel().config().setAutoRead(true);
        ctx.read();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (current != null) {
            current.clientGone();
            current = null;
        }
        if (pipelined != null) {
            pipelined.forEach(FullHttpRequest::release);
            pipelined.clear();
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecompressionException || cause instanceof io.netty.handler.codec.DecoderException) {
            if (current != null && !current.answered()) {
                current.fail(FleetException.badRequest("unable to decode request body: " + cause.getMessage()));
                ctx.channel().config().setAutoRead(true);
                return;
            }
            badRequestAndClose(ctx, cause);
            return;
        }
        if (cause instanceof java.io.IOException || cause instanceof io.netty.handler.codec.PrematureChannelClosureException) {
            LOG.debug("connection error: {}", cause.toString());
        } else {
            LOG.warn("unexpected error on {}", ctx.channel(), cause);
        }
        ctx.close();
    }

    private void badRequestAndClose(ChannelHandlerContext ctx, Throwable cause) {
        ErrorMapper.Mapped m = ErrorMapper.map(FleetException.badRequest(String.valueOf(cause.getMessage())));
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, m.status(),
                Unpooled.wrappedBuffer(dev.fleetserver.core.util.Json.bytes(m.body())));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, Exchange.JSON_UTF8);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        response.headers().set(HttpHeaderNames.CONNECTION, "close");
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
