package dev.fleetserver.netty.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.longpoll.CheckinResponse;
import dev.fleetserver.core.longpoll.CheckinSink;
import dev.fleetserver.core.longpoll.ParkedCheckin;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.metrics.HttpMetricsHandler;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One request and its answer. Answers exactly once, from any thread (writes hop onto the connection's event loop).
 * The route gets the head at once; the body only when it asks ({@link #readJson}, {@link #readBody}), which it does
 * once the request is authenticated, so an unauthenticated client never makes the server decode or hold more than
 * one socket read of its body. An answer written before the body was received to its end closes the connection.
 * Also the {@link CheckinSink} of a checkin: while parked it holds only the context, the request id (as two longs
 * when it is a UUID), the parked checkin and its timer — the request, its body and its path parameters have been
 * released.
 */
public final class Exchange implements CheckinSink {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Exchange.class);
    static final AsciiString X_REQUEST_ID = AsciiString.cached("X-Request-Id");
    static final AsciiString ELASTIC_API_VERSION = AsciiString.cached("Elastic-Api-Version");
    static final AsciiString NOSNIFF = AsciiString.cached("nosniff");
    static final AsciiString X_CONTENT_TYPE_OPTIONS = AsciiString.cached("X-Content-Type-Options");
    static final AsciiString JSON_UTF8 = AsciiString.cached("application/json; charset=utf-8");
    static final AsciiString JSON = AsciiString.cached("application/json");
    static final AsciiString TEXT_UTF8 = AsciiString.cached("text/plain; charset=utf-8");

    private final ChannelHandlerContext ctx;
    private final FleetHandler owner;
    /**
     * The request id as text; null for none, or while parked when it is a UUID (then {@link #idHigh}/{@link #idLow}
     * hold it).
     */
    private String requestIdText;
    private final long idHigh;
    private final long idLow;
    private final boolean uuidId;
    private final CharSequence apiVersion;
    private final boolean keepAlive;
    private final boolean acceptsGzip;
    private final long startNanos;
    private HttpRequest request;
    private RequestBody body;
    private Map<String, String> params;
    private ParkedCheckin parked;
    private ScheduledFuture<?> timeout;
    private boolean answered;
    /** {@code Retry-After} of a failure answer, 0 for none. */
    private long retryAfterSeconds;
    /** One further header of a failure answer, or null. */
    private CharSequence extraHeaderName;
    private Object extraHeaderValue;
    /** Whether the request body had not been received to its end when the answer began. */
    private boolean bodyUnreadAtAnswer;
    /** The reader of a streamed answer under way, or null. */
    private dev.fleetserver.core.file.PieceReader streaming;

    /**
     * @param requestId the client's request id, or null to make one up; ignored without {@code apiVersion}
     * @param apiVersion the API version header of the answer; null on listeners that set neither (management)
     * @param limits     the route's body limits
     * @param budget     the process's budget for bodies in memory
     */
    Exchange(ChannelHandlerContext ctx, FleetHandler owner, HttpRequest request, String requestId, CharSequence apiVersion,
             BodyLimits limits, BodyBudget budget) {
        this.ctx = ctx;
        this.owner = owner;
        this.request = request;
        this.body = new RequestBody(ctx, request, limits, budget, this::fail);
        this.apiVersion = apiVersion;
        this.keepAlive = HttpUtil.isKeepAlive(request);
        this.acceptsGzip = owner.gzip().accepts(request);
        this.startNanos = System.nanoTime();
        // Kept for minutes by a parked checkin: a UUID (what the agent sends, or ours) costs two longs, not a String.
        UUID uuid = null;
        if (apiVersion != null) {
            uuid = requestId == null || requestId.isEmpty() ? UUID.randomUUID() : canonicalUuid(requestId);
        }
        this.uuidId = uuid != null;
        this.idHigh = uuid == null ? 0 : uuid.getMostSignificantBits();
        this.idLow = uuid == null ? 0 : uuid.getLeastSignificantBits();
        // Kept as text until the request parks: an answer at once needs it for the log and the header.
        this.requestIdText = apiVersion == null ? null : uuid != null && (requestId == null || requestId.isEmpty())
                ? uuid.toString() : requestId;
    }

    /** {@code text} as a UUID when it is one in the form {@link UUID#toString()} writes back exactly, else null. */
    private static UUID canonicalUuid(String text) {
        if (text.length() != 36) {
            return null;
        }
        try {
            UUID uuid = UUID.fromString(text);
            return uuid.toString().equals(text) ? uuid : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** This request's id (echoed in {@code X-Request-Id}), or null on a listener without request ids. */
    public String requestId() {
        return requestIdText != null || !uuidId ? requestIdText : new UUID(idHigh, idLow).toString();
    }

    void params(Map<String, String> params) {
        this.params = params;
    }

    public String param(String name) {
        return params.get(name);
    }

    public String uri() {
        return request.uri();
    }

    /** The request's method; until the request head is released. */
    public io.netty.handler.codec.http.HttpMethod method() {
        return request.method();
    }

    /** Whether the request came over TLS. */
    public boolean secure() {
        return ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null;
    }

    public long startNanos() {
        return startNanos;
    }

    public String header(CharSequence name) {
        return request.headers().get(name);
    }

    public List<String> headers(CharSequence name) {
        return request.headers().getAll(name);
    }

    /**
     * Reads the JSON body of an agent-API request: the tree, or null for an empty body. Malformed JSON fails with the
     * original's 400 {@code Bad request: unable to decode <what> request: <reason>}; see {@link #readBody} for the
     * rest. Any thread; completes on the event loop.
     */
    public CompletableFuture<JsonNode> readJson(String what) {
        return readJson(e -> FleetException.badRequest("unable to decode " + what + " request: " + Json.reason(e)));
    }

    /** Reads the JSON body, {@code malformed} making the failure for malformed JSON. */
    public CompletableFuture<JsonNode> readJson(Function<IOException, RuntimeException> malformed) {
        return readBody(new JsonBody(), malformed);
    }

    /**
     * Reads the body into {@code consumer} as it streams in, under the route's limits and the process's body budget;
     * at most once. Fails with a 400 {@link FleetException} when the body is too large or cannot be decoded, with
     * {@code malformed}'s exception when the consumer refuses it, and with a 429 rejection when bodies in memory are
     * over budget. Any thread; completes on the event loop.
     */
    public <T> CompletableFuture<T> readBody(BodyConsumer<T> consumer, Function<IOException, RuntimeException> malformed) {
        RequestBody b = body;
        if (b == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("the request is over"));
        }
        return b.read(consumer, malformed);
    }

    /** The next part of the body, from the handler. Event loop only. */
    void content(HttpContent content) {
        if (body == null) {
            content.release();
        } else {
            body.offer(content);
        }
    }

    /** Frees the request head early (before parking); the body stays until the answer. Later calls are no-ops. */
    public void releaseRequest() {
        request = null;
    }

    /** Gives back what the body holds; event loop only. */
    private void releaseBody() {
        if (body != null) {
            body.release();
        }
    }

    // --- answers ---

    /** As {@link #respondJson(HttpResponseStatus, ObjectNode)}, the answer also carrying {@code header} (a {@code Set-Cookie}). */
    public void respondJson(HttpResponseStatus status, ObjectNode body, CharSequence header, Object value) {
        extraHeaderName = header;
        extraHeaderValue = value;
        respondJson(status, body);
    }

    public void respondJson(HttpResponseStatus status, ObjectNode body) {
        respond(status, JSON, Json.bytes(body));
    }

    /** Answers with the mapped error body of {@code failure}. */
    @Override
    public void fail(Throwable failure) {
        ErrorMapper.Mapped m;
        // The mapper logs store and unexpected failures: with the request id, from whichever thread fails.
        org.slf4j.MDC.put(HttpMetricsHandler.REQUEST_ID, requestId());
        try {
            m = ErrorMapper.map(failure);
        } finally {
            org.slf4j.MDC.remove(HttpMetricsHandler.REQUEST_ID);
        }
        // Set before the answer is handed to the event loop (execute() orders it before the write).
        retryAfterSeconds = m.retryAfterSeconds();
        respond(m.status(), JSON_UTF8, Json.bytes(m.body()));
    }

    /** As {@link #fail(Throwable)}, the answer also carrying {@code header} (e.g. a 416's {@code Content-Range}). */
    public void fail(Throwable failure, CharSequence header, Object value) {
        extraHeaderName = header;
        extraHeaderValue = value;
        fail(failure);
    }

    @Override
    public void respond(CheckinResponse response) {
        respond(HttpResponseStatus.OK, JSON, response.parts(), response.sharedParts());
    }

    public void respond(HttpResponseStatus status, CharSequence contentType, byte[]... body) {
        respond(status, contentType, body, null);
    }

    /** @param shared which parts many answers share (their gzip is made once), or null */
    private void respond(HttpResponseStatus status, CharSequence contentType, byte[][] body, boolean[] shared) {
        if (ctx.executor().inEventLoop()) {
            write(status, contentType, body, shared);
        } else {
            ctx.executor().execute(() -> write(status, contentType, body, shared));
        }
    }

    /** The body of a streamed answer, in parts fetched one at a time. */
    public interface BodyParts {
        int count();

        /** Part {@code i}; asked for only once part {@code i - 1} has been written to the connection. */
        CompletableFuture<byte[]> part(int i);
    }

    /**
     * Answers with a body sent in parts ({@code Transfer-Encoding: chunked}): each part is fetched only once the one
     * before it has been written to the socket, so the answer holds at most one part in memory however large it is
     * and however slowly the client reads. A part that cannot be fetched ends the connection (the status is sent
     * already); the client sees a truncated body, never a complete-looking wrong one. Any thread.
     *
     * @param headers headers besides the framing ones ({@code Content-Type}, {@code Content-Disposition}, …)
     */
    public void respondStream(HttpResponseStatus status, Map<CharSequence, String> headers, BodyParts parts) {
        if (ctx.executor().inEventLoop()) {
            startStream(status, headers, parts);
        } else {
            ctx.executor().execute(() -> startStream(status, headers, parts));
        }
    }

    private void startStream(HttpResponseStatus status, Map<CharSequence, String> headers, BodyParts parts) {
        if (!begin()) {
            return;
        }
        DefaultHttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
        var h = response.headers();
        headers.forEach(h::set);
        HttpUtil.setTransferEncodingChunked(response, true);
        boolean close = commonHeaders(h);
        ctx.write(response);
        pump(parts, 0, close);
    }

    private void pump(BodyParts parts, int i, boolean close) {
        if (!ctx.channel().isActive()) {
            return;
        }
        if (i >= parts.count()) {
            var end = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            if (close) {
                end.addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        CompletableFuture<byte[]> next;
        try {
            next = parts.part(i);
        } catch (RuntimeException e) {
            next = CompletableFuture.failedFuture(e);
        }
        next.whenComplete((bytes, t) -> ctx.executor().execute(() -> {
            if (t != null) {
                LOG.warn("a streamed answer failed at part {} of {}; closing the connection: {}", i, parts.count(),
                        dev.fleetserver.core.util.Futures.unwrap(t).toString());
                ctx.close();
                return;
            }
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes))).addListener(f -> {
                if (f.isSuccess()) {
                    pump(parts, i + 1, close);
                } else {
                    ctx.close();
                }
            });
        }));
    }

    private void write(HttpResponseStatus status, CharSequence contentType, byte[][] body, boolean[] shared) {
        if (!begin()) {
            return;
        }
        boolean gzip = false;
        if (acceptsGzip) {
            int length = 0;
            for (byte[] part : body) {
                length += part.length;
            }
            if (owner.gzip().compresses(length)) {
                // Members, some shared by many answers: wrapped as they are, never copied.
                body = owner.gzip().gzip(body, shared);
                gzip = true;
            }
        }
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                body.length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        var h = response.headers();
        if (contentType != null) {
            h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        if (gzip) {
            h.set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
        }
        if (contentType == JSON_UTF8) {
            h.set(Exchange.X_CONTENT_TYPE_OPTIONS, NOSNIFF);
        }
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        send(response);
    }

    /** Answers with a duplicate of a {@link FixedAnswers fixed answer}, plus this request's own headers. */
    public void respondFixed(FullHttpResponse template) {
        if (ctx.executor().inEventLoop()) {
            writeFixed(template);
        } else {
            ctx.executor().execute(() -> writeFixed(template));
        }
    }

    /**
     * As {@link #respondFixed} for an error answer built by {@link ErrorMapper#template}, with the
     * {@code Retry-After} its status calls for.
     */
    public void failFixed(FullHttpResponse template) {
        // Set before the answer is handed to the event loop (execute() orders it before the write).
        retryAfterSeconds = ErrorMapper.retryAfterSeconds(template.status());
        respondFixed(template);
    }

    private void writeFixed(FullHttpResponse template) {
        if (!begin()) {
            return;
        }
        send(template.retainedDuplicate());
    }

    /** Adds the common headers to a whole answer and writes it; closes the connection after it when they say so. */
    private void send(FullHttpResponse response) {
        boolean close = commonHeaders(response.headers());
        var future = ctx.writeAndFlush(response);
        if (close) {
            future.addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * Answers with a body every answer of it shares (a cached artifact): written as it is, never compressed or
     * copied; {@code body}'s position and limit are left alone.
     */
    public void respondShared(HttpResponseStatus status, CharSequence contentType, java.nio.ByteBuffer body) {
        if (ctx.executor().inEventLoop()) {
            writeShared(status, contentType, body);
        } else {
            ctx.executor().execute(() -> writeShared(status, contentType, body));
        }
    }

    private void writeShared(HttpResponseStatus status, CharSequence contentType, java.nio.ByteBuffer body) {
        if (!begin()) {
            return;
        }
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body.duplicate()));
        var h = response.headers();
        if (contentType != null) {
            h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        send(response);
    }

    /**
     * Answers with a body streamed from {@code reader}: the head at once, then each piece once the one before it has
     * been written to the socket, so a slow client holds at most one piece in memory however large the body. Exactly
     * {@code contentLength} bytes are sent: pieces beyond it are cut, and a reader that fails or ends short closes
     * the connection (the client sees a body shorter than announced, not a wrong one). The reader is closed at the
     * end, whatever happens. Never compressed.
     *
     * @param headers further headers of the answer ({@code Content-Type}, {@code Content-Range}…)
     */
    public void stream(HttpResponseStatus status, Map<CharSequence, Object> headers, long contentLength,
                       dev.fleetserver.core.file.PieceReader reader) {
        if (ctx.executor().inEventLoop()) {
            startStream(status, headers, contentLength, reader);
        } else {
            ctx.executor().execute(() -> startStream(status, headers, contentLength, reader));
        }
    }

    private void startStream(HttpResponseStatus status, Map<CharSequence, Object> headers, long contentLength,
                             dev.fleetserver.core.file.PieceReader reader) {
        if (!begin()) {
            reader.close();
            return;
        }
        io.netty.handler.codec.http.HttpResponse head = new io.netty.handler.codec.http.DefaultHttpResponse(
                HttpVersion.HTTP_1_1, status);
        var h = head.headers();
        headers.forEach(h::set);
        h.set(HttpHeaderNames.CONTENT_LENGTH, contentLength);
        boolean close = commonHeaders(h);
        streaming = reader;
        ctx.writeAndFlush(head).addListener(f -> {
            if (f.isSuccess()) {
                pump(reader, contentLength, close);
            } else {
                abortStream(reader);
            }
        });
    }

    /** Reads the next piece and writes it; on the event loop once the previous write completed. */
    private void pump(dev.fleetserver.core.file.PieceReader reader, long remaining, boolean close) {
        if (remaining == 0) {
            finishStream(reader, close);
            return;
        }
        CompletableFuture<byte[]> next;
        try {
            next = reader.next();
        } catch (RuntimeException e) {
            next = CompletableFuture.failedFuture(e);
        }
        next.whenComplete((piece, t) -> ctx.executor().execute(() -> {
            if (streaming != reader) {
                return;
            }
            if (t != null || piece == null) {
                if (t != null) {
                    org.slf4j.LoggerFactory.getLogger(Exchange.class).warn("streaming an answer failed after {} bytes left: {}",
                            remaining, dev.fleetserver.core.util.Futures.unwrap(t).toString());
                } else {
                    org.slf4j.LoggerFactory.getLogger(Exchange.class).warn(
                            "the stored data ended {} bytes short of the announced length", remaining);
                }
                abortStream(reader);
                return;
            }
            int n = (int) Math.min(piece.length, remaining);
            long left = remaining - n;
            var content = new io.netty.handler.codec.http.DefaultHttpContent(Unpooled.wrappedBuffer(piece, 0, n));
            ctx.writeAndFlush(content).addListener(f -> {
                if (f.isSuccess()) {
                    pump(reader, left, close);
                } else {
                    abortStream(reader);
                }
            });
        }));
    }

    private void finishStream(dev.fleetserver.core.file.PieceReader reader, boolean close) {
        streaming = null;
        reader.close();
        var future = ctx.writeAndFlush(io.netty.handler.codec.http.LastHttpContent.EMPTY_LAST_CONTENT);
        if (close) {
            future.addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** A stream that cannot go on: the body can no longer be completed, so the connection ends. */
    private void abortStream(dev.fleetserver.core.file.PieceReader reader) {
        if (streaming == reader) {
            streaming = null;
        }
        reader.close();
        owner.closing();
        ctx.close();
    }

    /** Marks the exchange answered and releases the request; false when it was answered already. Event loop only. */
    private boolean begin() {
        if (answered) {
            return false;
        }
        answered = true;
        if (timeout != null) {
            timeout.cancel(false);
            timeout = null;
        }
        parked = null;
        releaseRequest();
        bodyUnreadAtAnswer = this.body != null && !this.body.complete();
        releaseBody();
        this.body = null;
        return true;
    }

    /**
     * Request id, API version, Retry-After, the failure's extra header and Connection headers; whether the connection
     * closes after the answer. A body not received to its end leaves the connection mid-request, and while the
     * server stops every answer ends its connection (agents would otherwise check in again at once on the same
     * connection, be answered at once, and keep the drain busy to its deadline).
     */
    private boolean commonHeaders(io.netty.handler.codec.http.HttpHeaders h) {
        String requestId = requestId();
        if (requestId != null) {
            h.set(X_REQUEST_ID, requestId);
        }
        if (apiVersion != null) {
            h.set(ELASTIC_API_VERSION, apiVersion);
        }
        if (retryAfterSeconds > 0) {
            h.set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        if (extraHeaderName != null) {
            h.set(extraHeaderName, extraHeaderValue);
        }
        boolean close = !keepAlive || bodyUnreadAtAnswer || Draining.isDraining(ctx.channel());
        if (close) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            owner.closing();
        }
        return close;
    }

    // --- CheckinSink ---

    @Override
    public void park(ParkedCheckin checkin, Duration wait) {
        if (ctx.executor().inEventLoop()) {
            arm(checkin, wait);
        } else {
            ctx.executor().execute(() -> arm(checkin, wait));
        }
    }

    private void arm(ParkedCheckin checkin, Duration wait) {
        if (answered) {
            // Answered already, or the client left before the park arrived: make sure it is not left registered.
            checkin.abandon();
            return;
        }
        if (!ctx.channel().isActive()) {
            checkin.abandon();
            return;
        }
        parked = checkin;
        // Routes read their path parameters and body before they park; a parked checkin keeps nothing it does not need.
        params = null;
        releaseBody();
        body = null;
        if (uuidId) {
            requestIdText = null;
        }
        timeout = ctx.executor().schedule(checkin::expire, wait.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * The exchange will never answer (the connection closed first, or a handler in front answered for it): forget
     * the parked checkin, give back the body, write nothing. Event loop only.
     */
    void clientGone() {
        answered = true;
        if (streaming != null) {
            streaming.close();
            streaming = null;
        }
        if (timeout != null) {
            timeout.cancel(false);
            timeout = null;
        }
        if (parked != null) {
            parked.abandon();
            parked = null;
        }
        releaseRequest();
        releaseBody();
        body = null;
    }

    boolean answered() {
        return answered;
    }
}
