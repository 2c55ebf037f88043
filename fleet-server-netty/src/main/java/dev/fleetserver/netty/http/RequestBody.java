package dev.fleetserver.netty.http;

import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.limit.Rejection;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The body of one request while it streams in, owned by its {@link Exchange}. Until the route asks for it
 * ({@link #read}), normally once the request is authenticated, nothing is decoded: the connection reads no further
 * (the handler turned auto-read off at the head), and what the last socket read already brought is held as received.
 * Once asked, the body is decoded as it arrives (gunzip in bounded steps, see {@link BodyInflater}) straight into the
 * route's {@link BodyConsumer}, and the connection reads on only as the consumer takes each piece.
 *
 * <p>Limits, in the order they bite: the route's limit on the body as sent ({@code max_body_byte_size}), the route's
 * limit on the decoded body ({@code max_body_decompressed}; a gzip bomb stops here), and the process's
 * {@link BodyBudget}, charged with the bytes held before the route reads and with what the consumer retains. Over a
 * route limit the request fails with the original's 400 ({@code http: request body too large}); over the budget with
 * 429 and {@code Retry-After}. Either way everything held is given back at once, and as the body was not read to its
 * end the answer closes the connection.
 *
 * <p>A client that sent {@code Expect: 100-continue} gets {@code 100 Continue} when the route asks for the body, so a
 * request refused at its head (no key) never has its body sent at all. Elastic Agent never sends it; curl does.
 *
 * <p>Event loop only, except {@link #read}, which hops onto it.
 */
final class RequestBody {
    static final String TOO_LARGE = "http: request body too large";

    /**
     * The failure of a body over its route's limit: the original's 400 {@code http: request body too large}, except
     * on upload begin and complete, which answer 413 {@code ErrPayloadSizeTooLarge}.
     */
    static FleetException tooLarge(String uri) {
        String route = dev.fleetserver.netty.limit.RouteBuckets.of(uri);
        if ("upload_start".equals(route) || "upload_end".equals(route)) {
            return new FleetException(dev.fleetserver.core.error.FleetError.PAYLOAD_SIZE_TOO_LARGE);
        }
        return FleetException.badRequest(TOO_LARGE);
    }

    private final ChannelHandlerContext ctx;
    private final BodyLimits limits;
    private final BodyBudget budget;
    private final String contentEncoding;
    private final Consumer<Throwable> failBeforeRead;
    private final String uri;
    /** The client waits for {@code 100 Continue} before it sends the body (and has not had it yet). */
    private boolean expectsContinue;
    private ArrayDeque<HttpContent> held;
    private long raw;
    private long decoded;
    private long charged;
    private boolean last;
    private boolean done;
    private Reading<?> reading;

    /**
     * @param head            the request head: whether a body follows, its {@code Content-Encoding}
     * @param failBeforeRead  answers the request when the body breaks a limit before the route asked for it
     */
    RequestBody(ChannelHandlerContext ctx, HttpRequest head, BodyLimits limits, BodyBudget budget,
                Consumer<Throwable> failBeforeRead) {
        this.ctx = ctx;
        this.contentEncoding = head.headers().get(HttpHeaderNames.CONTENT_ENCODING);
        this.uri = head.uri();
        // Without Transfer-Encoding or a Content-Length above 0 a request has no body (RFC 9112 §6.3): it is complete
        // at its head, even before the codec passes on the empty end of it.
        this.last = !HttpUtil.isTransferEncodingChunked(head) && HttpUtil.getContentLength(head, 0L) <= 0;
        this.expectsContinue = !last && HttpUtil.is100ContinueExpected(head);
        this.limits = limits;
        this.budget = budget;
        this.failBeforeRead = failBeforeRead;
    }

    /** The next part of the body, as the codec decoded it; ownership passes here. */
    void offer(HttpContent content) {
        if (done) {
            content.release();
            return;
        }
        boolean isLast = content instanceof LastHttpContent;
        int length = content.content().readableBytes();
        raw += length;
        if (raw > limits.raw()) {
            content.release();
            fail(tooLarge(uri));
            return;
        }
        if (reading == null) {
            if (length > 0 && !charge(length)) {
                content.release();
                fail(overBudget());
                return;
            }
            if (held == null) {
                held = new ArrayDeque<>(4);
            }
            held.add(content);
            last = isLast;
            return;
        }
        if (reading.finished) {
            // The empty end of a body that was known to be empty at its head.
            content.release();
            return;
        }
        last = isLast;
        reading.take(content);
        if (!done) {
            if (last) {
                reading.finish();
            } else {
                ctx.read();
            }
        }
    }

    /**
     * Reads the body into {@code consumer}; at most once per request. The future completes on the event loop, with
     * the consumer's result, or fails with a {@link FleetException} (400: too large, undecodable or rejected by the
     * consumer; the consumer's {@link IOException} is passed to {@code malformed} for the route's own message) or a
     * {@link Rejection} (over the body budget).
     */
    <T> CompletableFuture<T> read(BodyConsumer<T> consumer, Function<IOException, RuntimeException> malformed) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (ctx.executor().inEventLoop()) {
            start(consumer, malformed, result);
        } else {
            ctx.executor().execute(() -> start(consumer, malformed, result));
        }
        return result;
    }

    private <T> void start(BodyConsumer<T> consumer, Function<IOException, RuntimeException> malformed,
                           CompletableFuture<T> result) {
        if (reading != null) {
            result.completeExceptionally(new IllegalStateException("the body was read already"));
            return;
        }
        if (done) {
            result.completeExceptionally(new IllegalStateException("the request is over"));
            return;
        }
        Reading<T> r = new Reading<>(consumer, malformed, result);
        reading = r;
        try {
            r.inflater = BodyInflater.forEncoding(contentEncoding, ctx.channel());
        } catch (RuntimeException e) {
            r.fail(e);
            return;
        }
        ArrayDeque<HttpContent> received = held;
        held = null;
        if (received != null) {
            for (HttpContent c = received.poll(); c != null; c = received.poll()) {
                if (done) {
                    c.release();
                    continue;
                }
                // Its raw bytes are the consumer's from here on, charged as what the consumer retains.
                uncharge(c.content().readableBytes());
                r.take(c);
            }
        }
        if (done) {
            return;
        }
        if (last) {
            r.finish();
            return;
        }
        if (expectsContinue && raw == 0) {
            // Asked only now that the route wants the body: a client refused at its head never sends it at all.
            ctx.writeAndFlush(FixedAnswers.CONTINUE.retainedDuplicate());
        }
        expectsContinue = false;
        ctx.read();
    }

    /** Whether the body has been received to its end (the connection can carry another request). */
    boolean complete() {
        return last;
    }

    /** Gives back everything held; the body is of no further interest. Idempotent. */
    void release() {
        done = true;
        if (held != null) {
            held.forEach(HttpContent::release);
            held = null;
        }
        if (reading != null) {
            reading.close();
        }
        uncharge(charged);
    }

    private boolean charge(long bytes) {
        if (!budget.tryAcquire(bytes)) {
            return false;
        }
        charged += bytes;
        return true;
    }

    private void uncharge(long bytes) {
        long n = Math.min(bytes, charged);
        charged -= n;
        budget.release(n);
    }

    /** Before the route read: answer at once. While reading: fail the read, which the route answers. */
    private void fail(Throwable t) {
        Reading<?> r = reading;
        release();
        if (r != null) {
            r.result.completeExceptionally(t);
        } else {
            failBeforeRead.accept(t);
        }
    }

    private static Rejection overBudget() {
        return new Rejection(Rejection.Kind.MEMORY, 1 + java.util.concurrent.ThreadLocalRandom.current().nextInt(5));
    }

    /** A read in progress: decoder, consumer, the budget charge of what the consumer retains. */
    private final class Reading<T> {
        private final BodyConsumer<T> consumer;
        private final Function<IOException, RuntimeException> malformed;
        private final CompletableFuture<T> result;
        private BodyInflater inflater;
        private long consumerCharge;
        private boolean finished;

        Reading(BodyConsumer<T> consumer, Function<IOException, RuntimeException> malformed,
                CompletableFuture<T> result) {
            this.consumer = consumer;
            this.malformed = malformed;
            this.result = result;
        }

        /** Decodes one part into the consumer and releases it. */
        void take(HttpContent content) {
            try {
                ByteBuf in = content.content();
                if (inflater == null) {
                    deliver(in);
                } else {
                    inflater.inflate(in, this::deliverAndRelease);
                }
            } catch (DecompressionException e) {
                fail(FleetException.badRequest("unable to decode request body: " + e.getMessage()));
            } catch (Stop e) {
                // already failed
            } catch (RuntimeException e) {
                // Whatever goes wrong here is this request's failure, never the connection's.
                fail(e);
            } finally {
                content.release();
            }
        }

        void finish() {
            finished = true;
            T value;
            try {
                if (inflater != null) {
                    inflater.finish(this::deliverAndRelease);
                }
                value = consumer.finish();
            } catch (DecompressionException e) {
                fail(FleetException.badRequest("unable to decode request body: " + e.getMessage()));
                return;
            } catch (Stop e) {
                return;
            } catch (IOException e) {
                fail(malformed.apply(e));
                return;
            } catch (RuntimeException e) {
                fail(e);
                return;
            }
            recharge();
            if (!done) {
                close();
                result.complete(value);
            }
        }

        private void deliverAndRelease(ByteBuf piece) {
            try {
                deliver(piece);
            } finally {
                piece.release();
            }
        }

        private void deliver(ByteBuf piece) {
            if (done) {
                throw Stop.INSTANCE;
            }
            decoded += piece.readableBytes();
            if (decoded > limits.decompressed()) {
                fail(tooLarge(uri));
                throw Stop.INSTANCE;
            }
            try {
                consumer.accept(piece);
            } catch (IOException e) {
                fail(malformed.apply(e));
                throw Stop.INSTANCE;
            }
            if (!recharge()) {
                throw Stop.INSTANCE;
            }
        }

        /** Brings the budget charge up to what the consumer retains now; false (and failed) when over budget. */
        private boolean recharge() {
            long now = consumer.retainedBytes();
            long more = now - consumerCharge;
            if (more > 0) {
                if (!charge(more)) {
                    fail(overBudget());
                    return false;
                }
                consumerCharge = now;
            }
            return true;
        }

        void fail(Throwable t) {
            RequestBody.this.fail(t);
        }

        void close() {
            if (inflater != null) {
                inflater.close();
                inflater = null;
            }
        }
    }

    /** Unwinds a decode loop once the request has failed. */
    private static final class Stop extends RuntimeException {
        static final Stop INSTANCE = new Stop();

        private Stop() {
            super(null, null, false, false);
        }
    }
}
