package dev.fleetserver.netty.tls;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits right after the TLS handler and counts the handshakes that succeed and fail. A failed handshake (no client certificate where one is required, an untrusted
 * one, no common protocol, plain HTTP sent to the TLS port) is the client's problem, so it is logged at debug and the
 * connection closed, instead of reaching the HTTP handlers as a decoding error they would try to answer.
 */
@ChannelHandler.Sharable
final class TlsFailureHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(TlsFailureHandler.class);

    private final LongAdder handshakes = new LongAdder();
    private final LongAdder failed = new LongAdder();

    long handshakes() {
        return handshakes.sum();
    }

    long failed() {
        return failed.sum();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            (done.isSuccess() ? handshakes : failed).increment();
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (t instanceof SSLException) {
            LOG.debug("TLS with {} failed: {}", ctx.channel().remoteAddress(), t.toString());
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }
}
