package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;

/**
 * HTTP/1.1 request decoding and response encoding, as Netty's {@code HttpServerCodec} (answers to {@code HEAD} carry
 * no body), with the message framing rules of RFC 9112 §6 enforced, so that no request can be read one way here and
 * another way by a proxy in front (request smuggling):
 * <ul>
 *   <li>{@code Transfer-Encoding} together with {@code Content-Length} → 400 (§6.1: a server may reject it, and must
 *       close the connection either way);</li>
 *   <li>{@code Transfer-Encoding} whose final coding is not {@code chunked}, or with {@code chunked} more than once,
 *       or on an HTTP/1.0 request → 400 (§6.1, §6.3: the body length cannot be determined reliably);</li>
 *   <li>{@code Transfer-Encoding} with another coding before a final {@code chunked} → 501 (a transfer coding this
 *       server does not implement).</li>
 * </ul>
 * Such a request reaches the handlers behind with a failed {@link DecoderResult} carrying the mapped error, and
 * everything after its head is discarded unread: the handler answers and closes the connection. Netty's
 * default, taking the request as chunked and dropping {@code Content-Length}, would keep the connection.
 */
public final class FleetHttpCodec extends CombinedChannelDuplexHandler<FleetHttpCodec.RequestDecoder, FleetHttpCodec.ResponseEncoder> {
    /** Methods of the requests not yet answered, so that an answer to {@code HEAD} is encoded without a body. */
    private final ArrayDeque<HttpMethod> methods = new ArrayDeque<>(2);

    public FleetHttpCodec(int maxInitialLineLength, int maxHeaderSize, int maxChunkSize) {
        init(new RequestDecoder(maxInitialLineLength, maxHeaderSize, maxChunkSize), new ResponseEncoder());
    }

    /**
     * What is wrong with the framing of {@code request}, as the error to answer with, or null when it is sound.
     * Visible for tests.
     */
    static FleetException framingError(HttpRequest request) {
        HttpHeaders h = request.headers();
        List<String> codings = h.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (codings.isEmpty()) {
            return null;
        }
        if (h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            return FleetException.badRequest("request has both Transfer-Encoding and Content-Length");
        }
        if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            return FleetException.badRequest("Transfer-Encoding is not allowed in an HTTP/1.0 request");
        }
        int chunked = 0;
        String other = null;
        String finalCoding = null;
        for (String value : codings) {
            for (String c : value.split(",", -1)) {
                String coding = c.trim().toLowerCase(Locale.ROOT);
                int params = coding.indexOf(';');
                if (params >= 0) {
                    coding = coding.substring(0, params).trim();
                }
                if (coding.isEmpty()) {
                    continue;
                }
                finalCoding = coding;
                if (coding.equals("chunked")) {
                    chunked++;
                } else if (other == null) {
                    other = coding;
                }
            }
        }
        if (!"chunked".equals(finalCoding) || chunked > 1) {
            return FleetException.badRequest("unsupported Transfer-Encoding: the final transfer coding must be chunked, once");
        }
        if (other != null) {
            return new FleetException(FleetError.TRANSFER_CODING_NOT_IMPLEMENTED,
                    "transfer coding \"" + other + "\" is not implemented");
        }
        return null;
    }

    /** Netty's request decoder, refusing unsound framing (see the class comment). */
    final class RequestDecoder extends HttpRequestDecoder {
        /** A request with unsound framing was seen: everything after it is dropped. */
        private boolean refused;

        RequestDecoder(int maxInitialLineLength, int maxHeaderSize, int maxChunkSize) {
            super(maxInitialLineLength, maxHeaderSize, maxChunkSize);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            if (refused) {
                buffer.skipBytes(buffer.readableBytes());
                return;
            }
            int from = out.size();
            super.decode(ctx, buffer, out);
            for (int i = from; i < out.size(); i++) {
                if (out.get(i) instanceof HttpRequest request) {
                    FleetException framing = request.decoderResult().isSuccess() ? framingError(request) : null;
                    if (framing != null) {
                        request.setDecoderResult(DecoderResult.failure(framing));
                        // Nothing after this head is passed on: its body cannot be told apart from a next request.
                        for (int j = out.size() - 1; j > i; j--) {
                            ReferenceCountUtil.release(out.remove(j));
                        }
                        refused = true;
                        buffer.skipBytes(buffer.readableBytes());
                    }
                    methods.add(request.method());
                    if (refused) {
                        return;
                    }
                }
            }
        }

        /** Leaves {@code Content-Length} in place, so that {@link #framingError} sees both headers. */
        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        }
    }

    /** Netty's response encoder; the answer to a {@code HEAD} request is encoded without its body. */
    final class ResponseEncoder extends HttpResponseEncoder {
        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            HttpMethod method = msg.status().codeClass() == io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL
                    ? null : methods.poll();
            return HttpMethod.HEAD.equals(method) || super.isContentAlwaysEmpty(msg);
        }
    }
}
