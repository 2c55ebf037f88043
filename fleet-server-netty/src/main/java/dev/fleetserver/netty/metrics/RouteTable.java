package dev.fleetserver.netty.metrics;

import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.Routes;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpMethod;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The agent-API routes as the original names them in its metrics ({@code checkin}, {@code enroll}, …), including
 * routes this server may not serve yet (their meters stay at zero, so dashboards built for the original work). Uses
 * the same {@link Routes} matcher as the server, so a path matches here exactly when it matches there.
 */
final class RouteTable {
    private final Routes routes = new Routes();
    private final List<RouteStats> all = new ArrayList<>();

    RouteTable(MeterRegistry registry) {
        add(registry, HttpMethod.GET, "/api/status", "status");
        add(registry, HttpMethod.POST, "/api/fleet/agents/enroll", "enroll");
        add(registry, HttpMethod.POST, "/api/fleet/agents/{id}/checkin", "checkin");
        add(registry, HttpMethod.POST, "/api/fleet/agents/{id}/acks", "acks");
        add(registry, HttpMethod.GET, "/api/fleet/artifacts/{id}/{sha2}", "artifacts");
        add(registry, HttpMethod.POST, "/api/fleet/uploads", "uploadStart");
        add(registry, HttpMethod.PUT, "/api/fleet/uploads/{id}/{chunkNum}", "uploadChunk");
        add(registry, HttpMethod.POST, "/api/fleet/uploads/{id}", "uploadEnd");
        add(registry, HttpMethod.GET, "/api/fleet/file/{id}", "deliverFile");
        add(registry, HttpMethod.GET, "/api/agents/upgrades/{version}/pgp-public-key", "getPGPKey");
        add(registry, HttpMethod.POST, "/api/fleet/agents/{id}/audit/unenroll", "auditUnenroll");
        add(registry, HttpMethod.POST, "/v1/opamp", "opAMP");
    }

    private void add(MeterRegistry registry, HttpMethod method, String pattern, String name) {
        RouteStats stats = new RouteStats(name, registry);
        all.add(stats);
        routes.add(method, pattern, BodyLimits.DEFAULT, new Tag(stats));
    }

    /** The route of a request line, or null when it names none of them. */
    RouteStats match(HttpMethod method, String uri) {
        return routes.match(method, uri) instanceof Routes.Found found ? ((Tag) found.handler()).stats() : null;
    }

    List<RouteStats> all() {
        return Collections.unmodifiableList(all);
    }

    /** Carries the stats through the matcher; never called as a handler. */
    private record Tag(RouteStats stats) implements dev.fleetserver.netty.http.RouteHandler {
        @Override
        public void handle(dev.fleetserver.netty.http.Exchange exchange) {
            throw new UnsupportedOperationException("route table for metrics only");
        }
    }
}
