package dev.fleetserver.netty.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The meters of one agent-API route, resolved once when the daemon starts so that counting a request is a few
 * adder increments. Names follow the original's {@code http_server.routes.<route>.*}.
 */
final class RouteStats {
    final String name;
    final AtomicLong active = new AtomicLong();
    final Counter total;
    final Counter errors4xx;
    final Counter errors5xx;
    final Counter limitRate;
    final Counter limitMax;
    final Counter dropped;
    final Counter bodyIn;
    final Counter bodyOut;

    RouteStats(String name, MeterRegistry registry) {
        this.name = name;
        Gauge.builder("fleet.http.requests.active", active, AtomicLong::get).tag("route", name)
                .description("Requests of the route being served now, parked checkins included").register(registry);
        total = Counter.builder("fleet.http.requests").tag("route", name)
                .description("Requests received on the route").register(registry);
        errors4xx = errors(registry, name, "4xx");
        errors5xx = errors(registry, name, "5xx");
        limitRate = limit(registry, name, "rate");
        limitMax = limit(registry, name, "max");
        dropped = Counter.builder("fleet.http.requests.dropped").tag("route", name)
                .description("Requests whose client went away before the answer").register(registry);
        bodyIn = Counter.builder("fleet.http.body.in").baseUnit("bytes").tag("route", name)
                .description("Request body bytes as sent (before decompression)").register(registry);
        bodyOut = Counter.builder("fleet.http.body.out").baseUnit("bytes").tag("route", name)
                .description("Response body bytes as written (after compression)").register(registry);
    }

    private static Counter errors(MeterRegistry registry, String route, String statusClass) {
        return Counter.builder("fleet.http.responses.errors").tag("route", route).tag("class", statusClass)
                .description("Error answers of the route, route limit hits excluded").register(registry);
    }

    private static Counter limit(MeterRegistry registry, String route, String kind) {
        return Counter.builder("fleet.http.limit.hits").tag("route", route).tag("limit", kind)
                .description("429 answers of the route's limiter: rate = token bucket, max = in-flight cap").register(registry);
    }

    /** An answer with this status was written for a request of this route. */
    void answered(int status, Limit limit) {
        switch (limit) {
            case RATE -> limitRate.increment();
            case MAX -> limitMax.increment();
            case CAPACITY -> { }
            case NONE -> {
                if (status >= 500) {
                    errors5xx.increment();
                } else if (status >= 400) {
                    errors4xx.increment();
                }
            }
        }
    }

    /** How a 429 came about, read from the answer. */
    enum Limit { NONE, RATE, MAX, CAPACITY }
}
