package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.metrics.HttpMetricsHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a connection: routes each request at its head, answers 404/405 for unknown ones and 400 for a
 * declared body over the route's limit, and keeps the one open exchange (possibly a parked checkin), to which it passes
 * the body's parts as they arrive. While an exchange is open the channel reads only as the exchange's body asks; the
 * pipelining guard in front sees to it that the next request's head comes only once the answer is out. Once an answer
 * that closes the connection has been written, nothing more is read from it. Per-connection state is just these few
 * fields.
 */
public final class FleetHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(FleetHandler.class);
    static final String DEFAULT_API_VERSION = "2023-06-01";
    private static final Pattern API_VERSION_FORMAT = Pattern.compile("^[0-9]{4}-[0-9]{2}-[0-9]{2}$");

    private final Routes routes;
    private final boolean agentApi;
    private final ResponseGzip gzip;
    private final BodyLimits.Lookup bodyLimits;
    private final BodyBudget budget;
    private Exchange current;
    private boolean closing;

    /**
     * @param agentApi true for the agent-facing listener (request ids and API version headers, as the original);
     *                 false for the management listener
     */
    public FleetHandler(Routes routes, boolean agentApi) {
        this(routes, agentApi, ResponseGzip.OFF, new RouteBodyLimits(routes, () -> null), BodyBudget.UNLIMITED);
    }

    /**
     * @param gzip       when answers are gzipped; shared by the listener's connections
     * @param bodyLimits each request's body limits, from its head
     * @param budget     the process's budget for bodies in memory
     */
    public FleetHandler(Routes routes, boolean agentApi, ResponseGzip gzip, BodyLimits.Lookup bodyLimits, BodyBudget budget) {
        this.routes = routes;
        this.agentApi = agentApi;
        this.gzip = gzip;
        this.bodyLimits = bodyLimits;
        this.budget = budget;
    }

    ResponseGzip gzip() {
        return gzip;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest request) {
            if (current != null) {
                // The pipelining guard passes a head only once the previous answer is out; a head now is a broken client.
                ReferenceCountUtil.release(msg);
                closing = true;
                ctx.close();
                return;
            }
            handle(ctx, request);
            if (msg instanceof HttpContent content) {
                passOn(content.retain());
            }
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpContent content) {
            passOn(content);
            return;
        }
        ReferenceCountUtil.release(msg);
    }

    private void passOn(HttpContent content) {
        if (current != null) {
            current.content(content);
        } else {
            content.release();
        }
    }

    private void handle(ChannelHandlerContext ctx, HttpRequest request) {
        DecoderResult decoded = request.decoderResult();
        if (decoded.isFailure()) {
            closing = true;
            answerAndClose(ctx, decoded.cause(), request);
            return;
        }
        String requestId = null;
        CharSequence apiVersion = null;
        if (agentApi) {
            requestId = request.headers().get(Exchange.X_REQUEST_ID);
            apiVersion = DEFAULT_API_VERSION;
        }
        BodyLimits limits = bodyLimits.of(request);
        Exchange exchange = new Exchange(ctx, this, request, requestId, apiVersion, limits, budget);
        current = exchange;
        // From here the connection reads only what the exchange's body asks for.
        ctx.channel().config().setAutoRead(false);
        if (HttpUtil.getContentLength(request, -1L) > limits.raw()) {
            exchange.fail(RequestBody.tooLarge(request.uri()));
            return;
        }
        Routes.Match match = routes.match(request.method(), request.uri());
        if (match instanceof Routes.NotFound) {
            exchange.respondFixed(FixedAnswers.NOT_FOUND);
            return;
        }
        if (match instanceof Routes.WrongMethod) {
            exchange.respondFixed(FixedAnswers.METHOD_NOT_ALLOWED);
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

    /** An answer that closes the connection was written: read nothing more from it. */
    void closing() {
        closing = true;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == ResponseComplete.INSTANCE && current != null) {
            Exchange done = current;
            current = null;
            if (!done.answered()) {
                // A handler in front answered for it (a read timeout's 408): it never will, so it gives back now what
                // it holds (its body's share of the budget, a parked checkin).
                done.clientGone();
            }
            // The open exchange's answer is out: the connection reads again, for the next request.
            if (!closing) {
                ctx.channel().config().setAutoRead(true);
                ctx.read();
            }
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (current != null) {
            // Unanswered (a parked checkin), or answered but not yet written out: either way nothing more is sent.
            current.clientGone();
            current = null;
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof io.netty.handler.codec.DecoderException) {
            closing = true;
            if (current != null && !current.answered()) {
                current.fail(ErrorMapper.undecodableBody(cause));
                return;
            }
            answerAndClose(ctx, cause, null);
            return;
        }
        if (cause instanceof java.io.IOException || cause instanceof io.netty.handler.codec.PrematureChannelClosureException) {
            LOG.debug("connection error: {}", cause.toString());
        } else {
            LOG.warn("unexpected error on {}", ctx.channel(), cause);
        }
        ctx.close();
    }

    /**
     * Answers a request that could not be decoded (malformed or ambiguous framing, a head too large) and closes the
     * connection: what follows on it cannot be trusted to start a request. On the agent listener the answer carries
     * the headers every answer there has: the request id (the client's, when its head got that far, else a new one)
     * and the API version.
     *
     * @param head what the codec made of the request's head, or null
     */
    private void answerAndClose(ChannelHandlerContext ctx, Throwable cause, HttpRequest head) {
        FullHttpResponse response = ErrorMapper.response(ErrorMapper.undecodable(cause), true);
        if (agentApi) {
            String requestId = head == null ? null : head.headers().get(Exchange.X_REQUEST_ID);
            response.headers().set(Exchange.X_REQUEST_ID,
                    requestId == null || requestId.isEmpty() ? java.util.UUID.randomUUID().toString() : requestId);
            response.headers().set(Exchange.ELASTIC_API_VERSION, DEFAULT_API_VERSION);
        }
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
