package dev.fleetserver.netty.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.limit.Rejection;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become HTTP answers: status and {@code {"statusCode","error","message"}}. Store
 * outages ({@link StoreException.Unavailable}: unreachable, 5xx, Elasticsearch's 429) are 503, never 401 (agents that
 * see repeated 401s stop checking in); so is a write that lost every retry to concurrent writes of the same document
 * ({@link StoreException.Conflict}: nothing was written, the same request will do later). Any other store failure
 * (the store refused the request) is a 500 with a generic message, the back end's text only in the log. Admission control's
 * {@link Rejection}s are 429: {@code RateLimit}/{@code MaxLimit} JSON for a route's limits, the plain text
 * {@code Server capacity exceeded.} for the listener's in-flight cap (as chi's {@code Throttle} in the original), and
 * unlike the original all of them carry {@code Retry-After}. So do the other 429s (from core, e.g. Elasticsearch
 * refusing API-key authentications) and the 503s of a store outage: a random 1–5 s and 5–15 s, spread so that a
 * fleet told to come back does not come back at once.
 */
public final class ErrorMapper {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorMapper.class);
    private static final Map<FleetError, Integer> STATUS = new EnumMap<>(FleetError.class);

    static {
        STATUS.put(FleetError.AGENT_NOT_FOUND, 404);
        STATUS.put(FleetError.API_KEY_NOT_ENABLED, 401);
        STATUS.put(FleetError.CLIENT_CLOSED_REQUEST, 499);
        STATUS.put(FleetError.AGENT_NOT_REPLACEABLE, 403);
        STATUS.put(FleetError.INVALID_USER_AGENT, 400);
        STATUS.put(FleetError.UNSUPPORTED_VERSION, 400);
        STATUS.put(FleetError.NOT_FOUND, 404);
        STATUS.put(FleetError.RATE_LIMIT, 429);
        STATUS.put(FleetError.MAX_LIMIT, 429);
        STATUS.put(FleetError.REQUEST_TIMEOUT, 408);
        STATUS.put(FleetError.ES_API_KEY_AUTH_LIMIT, 429);
        STATUS.put(FleetError.UPDATING_INACTIVE_AGENT, 401);
        STATUS.put(FleetError.AGENT_IDENTITY, 403);
        STATUS.put(FleetError.AGENT_CORRUPTED, 400);
        STATUS.put(FleetError.AGENT_INACTIVE, 401);
        STATUS.put(FleetError.NO_AUTH_HEADER, 401);
        STATUS.put(FleetError.MALFORMED_HEADER, 400);
        STATUS.put(FleetError.UNAUTHORIZED, 401);
        STATUS.put(FleetError.ENROLLMENT_KEY_NOT_ACTIVE, 401);
        STATUS.put(FleetError.MALFORMED_TOKEN, 400);
        STATUS.put(FleetError.INVALID_TOKEN, 401);
        STATUS.put(FleetError.API_KEY_NOT_FOUND, 401);
        STATUS.put(FleetError.INVALID_API_VERSION_FORMAT, 400);
        STATUS.put(FleetError.UNSUPPORTED_API_VERSION, 400);
        STATUS.put(FleetError.POLICY_NOT_FOUND, 400);
        STATUS.put(FleetError.AUDIT_REASON_CONFLICT, 409);
        STATUS.put(FleetError.TLS_REQUIRED, 501);
        STATUS.put(FleetError.TRANSFER_CODING_NOT_IMPLEMENTED, 501);
        STATUS.put(FleetError.BAD_REQUEST, 400);
        STATUS.put(FleetError.UPLOAD_NOT_FOUND, 400);
        STATUS.put(FleetError.FILE_INFO_BODY_REQUIRED, 400);
        STATUS.put(FleetError.AGENT_ID_MISSING, 400);
        STATUS.put(FleetError.FILE_FEATURE_DISABLED, 403);
        STATUS.put(FleetError.FILE_SIZE_TOO_LARGE, 400);
        STATUS.put(FleetError.PAYLOAD_REQUIRED, 400);
        STATUS.put(FleetError.FILE_SIZE_REQUIRED, 400);
        STATUS.put(FleetError.INVALID_FILE_SIZE, 400);
        STATUS.put(FleetError.FIELD_REQUIRED, 400);
        STATUS.put(FleetError.UPLOAD_EXPIRED, 400);
        STATUS.put(FleetError.UPLOAD_STOPPED, 400);
        STATUS.put(FleetError.INVALID_CHUNK_NUM, 400);
        STATUS.put(FleetError.HASH_MISMATCH, 400);
        STATUS.put(FleetError.STATUS_NO_UPLOADS, 400);
        STATUS.put(FleetError.TRANSIT_HASH_REQUIRED, 400);
        STATUS.put(FleetError.MISSING_CHUNKS, 400);
        STATUS.put(FleetError.FAIL_VALIDATION, 400);
        STATUS.put(FleetError.PAYLOAD_SIZE_TOO_LARGE, 413);
        STATUS.put(FleetError.INTERNAL, 500);
        STATUS.put(FleetError.SERVICE_UNAVAILABLE, 503);
        STATUS.put(FleetError.CONCURRENT_UPDATE, 503);
        STATUS.put(FleetError.ARTIFACT_FORBIDDEN, 403);
        STATUS.put(FleetError.AGENT_POLICY_ID_MISSING, 403);
        STATUS.put(FleetError.NO_FILE, 404);
        STATUS.put(FleetError.FILE_FOR_DELIVERY_NOT_FOUND, 404);
        STATUS.put(FleetError.CLIENT_FILE_FORBIDDEN, 403);
        STATUS.put(FleetError.RANGE_NOT_SATISFIABLE, 416);
        STATUS.put(FleetError.MULTI_RANGE_NOT_SATISFIABLE, 416);
        STATUS.put(FleetError.MANAGEMENT_UNAUTHORIZED, 401);
        STATUS.put(FleetError.MANAGEMENT_FORBIDDEN, 403);
        STATUS.put(FleetError.MANAGEMENT_NOT_FOUND, 404);
        STATUS.put(FleetError.MANAGEMENT_BAD_REQUEST, 400);
        STATUS.put(FleetError.MANAGEMENT_CONFLICT, 409);
        for (FleetError e : FleetError.values()) {
            if (!STATUS.containsKey(e)) {
                throw new ExceptionInInitializerError("no HTTP status for " + e);
            }
        }
    }

    private ErrorMapper() {
    }

    /** Body of the listener's in-flight cap answer (chi's {@code errCapacityExceeded} plus its newline). */
    static final String CAPACITY_EXCEEDED = "Server capacity exceeded.\n";
    /** Message of the body budget's 429 (a {@code MaxLimit}: of the memory all request bodies may hold together). */
    static final String BODY_BUDGET_EXCEEDED = "exceeded the max limit of memory for request bodies";

    /**
     * A mapped failure.
     *
     * @param body              the JSON error body; null when {@code text} is the body instead
     * @param retryAfterSeconds value of {@code Retry-After}, 0 for none
     * @param text              a plain-text body, or null
     */
    public record Mapped(HttpResponseStatus status, ObjectNode body, long retryAfterSeconds, String text) {
        Mapped(HttpResponseStatus status, ObjectNode body) {
            this(status, body, 0, null);
        }
    }

    /** The listener's in-flight cap answer, built once; each is a duplicate with its own {@code Retry-After}. */
    private static final FullHttpResponse CAPACITY = template(new Mapped(HttpResponseStatus.TOO_MANY_REQUESTS, null, 0,
            CAPACITY_EXCEEDED));

    /**
     * A complete error answer, for handlers that answer before a request reaches its route (limits, timeouts, body
     * caps): status, body, {@code Content-Type}, {@code X-Content-Type-Options}, {@code Content-Length}, any
     * {@code Retry-After}, and {@code Connection: close} when {@code close}.
     */
    public static FullHttpResponse response(Throwable failure, boolean close) {
        FullHttpResponse response;
        long retryAfter;
        if (Futures.unwrap(failure) instanceof Rejection r && r.kind() == Rejection.Kind.CAPACITY) {
            response = CAPACITY.retainedDuplicate();
            retryAfter = r.retryAfterSeconds();
        } else {
            Mapped m = map(failure);
            response = build(m, false);
            retryAfter = m.retryAfterSeconds();
        }
        var h = response.headers();
        if (retryAfter > 0) {
            h.set(HttpHeaderNames.RETRY_AFTER, retryAfter);
        }
        if (close) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return response;
    }

    /**
     * The answer to {@code failure} built once, to be written as duplicates (see {@link FixedAnswers}) each with its
     * own per-request headers and the {@link #retryAfterSeconds(HttpResponseStatus) Retry-After} of its status.
     */
    public static FullHttpResponse template(Throwable failure) {
        return template(map(failure));
    }

    private static FullHttpResponse template(Mapped m) {
        return build(m, true);
    }

    private static FullHttpResponse build(Mapped m, boolean template) {
        byte[] bytes = m.text() != null ? m.text().getBytes(StandardCharsets.UTF_8) : Json.bytes(m.body());
        CharSequence type = m.text() != null ? Exchange.TEXT_UTF8 : Exchange.JSON_UTF8;
        // A template's body is never freed: every answer written from it is a duplicate sharing it.
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, m.status(), template
                ? Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(bytes)) : Unpooled.wrappedBuffer(bytes));
        var h = response.headers();
        h.set(HttpHeaderNames.CONTENT_TYPE, type);
        h.set(Exchange.X_CONTENT_TYPE_OPTIONS, Exchange.NOSNIFF);
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return response;
    }

    /**
     * The {@code Retry-After} of an error answer with this status: a random 1–5 s for a 429 and 5–15 s for a 503,
     * spread so that a fleet told to come back does not come back at once; 0 (none) otherwise.
     */
    public static long retryAfterSeconds(HttpResponseStatus status) {
        return switch (status.code()) {
            case 429 -> jitteredSeconds(1, 5);
            case 503 -> jitteredSeconds(5, 15);
            default -> 0;
        };
    }

    /**
     * The failure to answer for a request the codec could not decode ({@code cause}: a head too large, malformed or
     * ambiguous framing): the codec's own {@link FleetException} when it raised one, else a 400 with its message.
     */
    public static FleetException undecodable(Throwable cause) {
        return cause instanceof FleetException f ? f : FleetException.badRequest(String.valueOf(cause.getMessage()));
    }

    /** The failure to answer for a request whose body could not be decoded after its head was routed. */
    public static FleetException undecodableBody(Throwable cause) {
        return FleetException.badRequest("unable to decode request: " + cause.getMessage());
    }

    public static Mapped map(Throwable failure) {
        Throwable t = Futures.unwrap(failure);
        if (t instanceof Rejection r) {
            return switch (r.kind()) {
                case CAPACITY -> new Mapped(HttpResponseStatus.TOO_MANY_REQUESTS, null, r.retryAfterSeconds(), CAPACITY_EXCEEDED);
                case RATE_LIMIT -> retryLater(FleetError.RATE_LIMIT, r.retryAfterSeconds());
                case MAX_LIMIT -> retryLater(FleetError.MAX_LIMIT, r.retryAfterSeconds());
                case MEMORY -> new Mapped(HttpResponseStatus.TOO_MANY_REQUESTS, mapped(429, FleetError.MAX_LIMIT.errorName(),
                        BODY_BUDGET_EXCEEDED).body(), r.retryAfterSeconds(), null);
            };
        }
        if (t instanceof FleetException f) {
            Mapped m = mapped(STATUS.get(f.error()), f.error().errorName(), f.getMessage());
            return new Mapped(m.status(), m.body(), retryAfterSeconds(m.status()), null);
        }
        if (t instanceof StoreException.Unavailable) {
            LOG.warn("store unavailable: {}", t.toString());
            Mapped m = mapped(503, FleetError.SERVICE_UNAVAILABLE.errorName(), FleetError.SERVICE_UNAVAILABLE.defaultMessage());
            return new Mapped(m.status(), m.body(), retryAfterSeconds(m.status()), null);
        }
        if (t instanceof StoreException.Conflict) {
            // A concurrent write won every retry: nothing was written, and the same request will do next time.
            LOG.warn("gave up on a write after concurrent updates: {}", t.toString());
            return retryLater(FleetError.CONCURRENT_UPDATE, jitteredSeconds(1, 5));
        }
        if (t instanceof StoreException) {
            // The store refused this request (not an outage): ours to fix, not the client's to retry later. Its
            // text stays in the log; the client learns nothing about the back end.
            LOG.error("store refused a request: {}", t.toString());
            return mapped(500, FleetError.INTERNAL.errorName(), FleetError.INTERNAL.defaultMessage());
        }
        LOG.error("unexpected failure", t);
        return mapped(500, "BadRequest", String.valueOf(t.getMessage()));
    }

    public static int status(FleetError error) {
        return STATUS.get(error);
    }

    private static long jitteredSeconds(int min, int max) {
        return java.util.concurrent.ThreadLocalRandom.current().nextLong(min, max + 1);
    }

    private static Mapped retryLater(FleetError error, long retryAfterSeconds) {
        Mapped m = mapped(STATUS.get(error), error.errorName(), error.defaultMessage());
        return new Mapped(m.status(), m.body(), retryAfterSeconds, null);
    }

    private static Mapped mapped(int status, String error, String message) {
        ObjectNode body = Json.object();
        body.put("statusCode", status);
        body.put("error", error);
        body.put("message", message);
        return new Mapped(HttpResponseStatus.valueOf(status), body);
    }
}
