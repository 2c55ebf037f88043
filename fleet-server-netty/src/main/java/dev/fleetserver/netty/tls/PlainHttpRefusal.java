package dev.fleetserver.netty.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * In front of the TLS handler for the first five bytes of a connection only: when they are not a TLS record but the
 * start of an HTTP request, answers in clear text what Go's server answers ({@code 400}, "Client sent an HTTP request
 * to an HTTPS server.") and closes, so that an agent configured with {@code http://} says what is wrong. Otherwise it
 * removes itself, handing the bytes on to TLS untouched.
 */
final class PlainHttpRefusal extends ByteToMessageDecoder {
    private static final byte[] ANSWER = ("HTTP/1.0 400 Bad Request\r\n\r\n"
            + "Client sent an HTTP request to an HTTPS server.\n").getBytes(StandardCharsets.US_ASCII);
    private static final String[] METHODS = {"GET ", "POST ", "PUT ", "HEAD ", "DELET", "OPTIO", "PATCH"};

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 5) {
            return;
        }
        if (!SslHandler.isEncrypted(in, false) && isHttp(in)) {
            in.skipBytes(in.readableBytes());
            ctx.writeAndFlush(Unpooled.wrappedBuffer(ANSWER)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.pipeline().remove(this);
    }

    private static boolean isHttp(ByteBuf in) {
        String start = in.toString(in.readerIndex(), 5, StandardCharsets.US_ASCII);
        for (String method : METHODS) {
            if (start.startsWith(method)) {
                return true;
            }
        }
        return false;
    }
}
