package dev.fleetserver.netty.pipeline;

/**
 * Names of the handlers in a connection's pipeline, in pipeline order. Before any of them, a connection beyond the
 * listener's TCP cap (1.1 x {@code max_connections}) is closed as it is set up.
 * <ol>
 *   <li>{@link #TLS_PLAIN_HTTP} — answers plain HTTP sent to a TLS listener; gone after the first bytes</li>
 *   <li>{@link #TLS} — TLS, on a listener with {@code ssl} enabled (after the connection cap: no TLS work for a
 *       connection that is closed anyway)</li>
 *   <li>{@link #TLS_FAILURES} — closes a connection whose handshake failed, quietly</li>
 *   <li>{@link #HTTP_CODEC} — HTTP/1.1 request decoding and response encoding (bounded initial line and headers);
 *       a request whose framing is ambiguous (both {@code Transfer-Encoding} and {@code Content-Length}, a transfer
 *       coding other than a final {@code chunked}) is marked failed and nothing after its head is decoded</li>
 *   <li>{@link #KEEP_ALIVE} — closes the connection after a response when either side asked for it</li>
 *   <li>{@link #PIPELINING} — one request at a time behind it: pipelined requests wait until the previous answer
 *       has been flushed; bounded per connection and by the process's body budget. The one place that tells when
 *       a request is over: it fires {@code ResponseComplete} to the handlers behind it once the answer is out,
 *       and they end their per-request state on it</li>
 *   <li>{@link #METRICS} — counts connections and per-route requests, bodies and answers as they cross the wire, and
 *       writes the access log; first behind the pipelining guard so it sees every answer, including those of the
 *       limits</li>
 *   <li>{@link #TIMEOUTS} — read-header, read and write timeouts, and the idle timeout between requests; never while
 *       a route holds the request (a parked checkin)</li>
 *   <li>{@link #ADMISSION} — agent API only: listener in-flight cap and the route's token bucket and in-flight cap,
 *       429 with {@code Retry-After} at the request head</li>
 *   <li>{@link #FLEET_HANDLER} — routes the request at its head (before any of its body is read), hands the body to
 *       the route only when it asks for it (after authentication), streamed through gunzip and the JSON parser under
 *       the route's limits and the process's body budget, and writes the answer (gzipped above the threshold when the
 *       client asked for exactly gzip); owns the parked checkin</li>
 * </ol>
 * Every handler here costs each parked connection a pipeline context (about 56 bytes) plus its own fields, so
 * related concerns share one handler (all timeouts) and per-request work lives in per-request objects: the body's
 * limits, decoding and parsing belong to the exchange ({@code RequestBody}), response gzip too.
 */
public final class PipelineNames {
    public static final String TLS_PLAIN_HTTP = "tls_plain_http";
    public static final String TLS = "tls";
    public static final String TLS_FAILURES = "tls_failures";
    public static final String HTTP_CODEC = "http_codec";
    public static final String KEEP_ALIVE = "keep_alive";
    public static final String PIPELINING = "pipelining";
    public static final String METRICS = "metrics";
    public static final String TIMEOUTS = "timeouts";
    public static final String ADMISSION = "admission";
    public static final String FLEET_HANDLER = "fleet_handler";

    private PipelineNames() {
    }
}
