package dev.fleetserver.es.client;

import dev.fleetserver.core.store.StoreException;

/**
 * What an Elasticsearch error status means to the store port. Outages — the cluster overloaded ({@code 429}),
 * failing ({@code 5xx}) or refusing this server's own credentials ({@code 401}/{@code 403}, which no request can get
 * past until an operator fixes them) — are {@link StoreException.Unavailable}, which callers may retry later.
 * {@code 404} and {@code 409} are the port's NotFound and Conflict. Any other status is Elasticsearch refusing this
 * particular request, a plain {@link StoreException}: retrying it would not help.
 */
public final class EsFailures {
    private EsFailures() {
    }

    /** Whether {@code status} means the cluster cannot serve this server now, rather than refusing this request. */
    public static boolean outage(int status) {
        return status == 429 || status >= 500 || status == 401 || status == 403;
    }

    /** The store port's failure for an error {@code status}. */
    public static StoreException of(int status, String message) {
        if (outage(status)) {
            return new StoreException.Unavailable(message, null);
        }
        return switch (status) {
            case 404 -> new StoreException.NotFound(message);
            case 409 -> new StoreException.Conflict(message);
            default -> new StoreException(message);
        };
    }
}
