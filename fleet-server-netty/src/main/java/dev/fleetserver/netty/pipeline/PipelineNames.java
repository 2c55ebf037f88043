package dev.fleetserver.netty.pipeline;

/**
 * Names of the handlers in a connection's pipeline, in pipeline order:
 * <ol>
 *   <li>{@link #HTTP_CODEC} — HTTP/1.1 request decoding and response encoding (bounded initial line and headers)</li>
 *   <li>{@link #METRICS} — counts connections and per-route requests, bodies and answers as they cross the wire, and
 *       writes the access log; first after the codec so it sees every answer, including those of the limits</li>
 *   <li>{@link #KEEP_ALIVE} — closes the connection after a response when either side asked for it</li>
 *   <li>{@link #IDLE} — closes a connection idle between requests; never while a request (a parked checkin) is open</li>
 *   <li>{@link #RAW_BODY_LIMIT} — the route's limit on the body as sent (compressed)</li>
 *   <li>{@link #DECOMPRESSOR} — gunzips request bodies sent with {@code Content-Encoding: gzip}</li>
 *   <li>{@link #BODY_LIMIT} — the route's limit on the decompressed body (a gzip bomb stops here)</li>
 *   <li>{@link #AGGREGATOR} — one {@code FullHttpRequest} per request</li>
 *   <li>{@link #COMPRESSOR} — gzips responses above the threshold, only when the client asked for exactly gzip</li>
 *   <li>{@link #FLEET_HANDLER} — routes the request to core and writes the answer; owns the parked checkin</li>
 * </ol>
 */
public final class PipelineNames {
    public static final String HTTP_CODEC = "http_codec";
    public static final String METRICS = "metrics";
    public static final String KEEP_ALIVE = "keep_alive";
    public static final String IDLE = "idle";
    public static final String RAW_BODY_LIMIT = "raw_body_limit";
    public static final String DECOMPRESSOR = "decompressor";
    public static final String BODY_LIMIT = "body_limit";
    public static final String AGGREGATOR = "aggregator";
    public static final String COMPRESSOR = "compressor";
    public static final String FLEET_HANDLER = "fleet_handler";

    private PipelineNames() {
    }
}
