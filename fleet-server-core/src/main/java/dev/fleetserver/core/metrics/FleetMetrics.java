package dev.fleetserver.core.metrics;

/**
 * What core reports about itself, for whoever exposes metrics (the daemon implements it with Micrometer; core stays
 * free of any metrics library). Every method is called on hot paths and from any thread: implementations must be
 * cheap, non-blocking and thread-safe. The default methods do nothing, so {@link #NONE} is a valid implementation.
 */
public interface FleetMetrics {
    /** Reports nothing. */
    FleetMetrics NONE = new FleetMetrics() {
    };

    /** What woke a parked checkin. */
    enum FanOut {
        /** A newer policy revision. */
        POLICY,
        /** A new action for the agent. */
        ACTION
    }

    /**
     * A parked checkin was just handed its answer because of a change this server first saw at {@code seenNanos}
     * ({@link System#nanoTime()}): called once per agent answered, so the spread over a fleet is visible.
     */
    default void fannedOut(FanOut cause, long seenNanos) {
    }

    /**
     * One document-store call finished.
     *
     * @param operation a small fixed set of names ({@code get}, {@code search}, {@code bulk}, …)
     * @param nanos     from the call to its completion
     * @param failed    the call's future failed, other than for a missing document or a lost race (a bulk whose
     *                  single items failed still succeeded)
     */
    default void storeCall(String operation, long nanos, boolean failed) {
    }

    /**
     * One Elasticsearch request finished, retries across hosts included.
     *
     * @param api    the request's API, from {@link #elasticsearchApi}
     * @param status the HTTP status answered, or -1 when no host answered
     */
    default void elasticsearchRequest(String api, int status, long nanos) {
    }

    /**
     * The API of an Elasticsearch request path, a small bounded set fit for a metric tag: its first segment that
     * starts with {@code _} ({@code /.fleet-agents/_mget} is {@code _mget}, {@code /_security/api_key} is
     * {@code _security}), else {@code index} (index-level calls such as creating one).
     */
    static String elasticsearchApi(String path) {
        int end = path.indexOf('?');
        for (String segment : (end < 0 ? path : path.substring(0, end)).split("/")) {
            if (segment.startsWith("_")) {
                return segment;
            }
        }
        return "index";
    }
}
