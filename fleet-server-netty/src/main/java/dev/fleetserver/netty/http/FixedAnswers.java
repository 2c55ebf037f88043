package dev.fleetserver.netty.http;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * Answers whose status, body and content headers never change, built once. They are written as
 * {@link FullHttpResponse#retainedDuplicate() retained duplicates} (as Netty's own codecs write theirs): each
 * duplicate shares the body, which can never be freed, and has its own copy of the headers, to which the answer adds
 * its per-request ones (request id, {@code Retry-After}, {@code Connection}).
 */
public final class FixedAnswers {
    /** An unknown path, with the original's plain-text body. */
    public static final FullHttpResponse NOT_FOUND = text(HttpResponseStatus.NOT_FOUND, "404 page not found\n");
    /** A known path with another method: no body. */
    public static final FullHttpResponse METHOD_NOT_ALLOWED = empty(HttpResponseStatus.METHOD_NOT_ALLOWED);
    /** {@code 100 Continue}, sent when a route asks for a body the client holds back until told to send it. */
    public static final FullHttpResponse CONTINUE = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER);

    private FixedAnswers() {
    }

    /** A template: its body can never be freed, however many duplicates are written and released. */
    public static FullHttpResponse template(HttpResponseStatus status, CharSequence contentType, byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(body)));
        if (contentType != null) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return r;
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
        return template(status, Exchange.TEXT_UTF8, body.getBytes(StandardCharsets.UTF_8));
    }

    private static FullHttpResponse empty(HttpResponseStatus status) {
        return template(status, null, new byte[0]);
    }
}
