package dev.fleetserver.netty.http;

import dev.fleetserver.netty.limit.ResolvedLimits;
import dev.fleetserver.netty.limit.RouteBuckets;
import dev.fleetserver.netty.limit.RouteLimit;
import io.netty.handler.codec.http.HttpRequest;
import java.util.function.Supplier;

/**
 * Body limits of a request: the route table's own, replaced by {@code <route>_limit.max_body_byte_size} /
 * {@code max_body_decompressed} (or the original's code defaults for them) where the listener has resolved limits.
 */
public final class RouteBodyLimits implements BodyLimits.Lookup {
    private final Routes routes;
    private final Supplier<ResolvedLimits> current;

    /**
     * @param current the limits in force at each request (they change with the Fleet Server policy); null from it for
     *                a listener without route limits (management): the route table alone decides
     */
    public RouteBodyLimits(Routes routes, Supplier<ResolvedLimits> current) {
        this.routes = routes;
        this.current = current;
    }

    @Override
    public BodyLimits of(HttpRequest request) {
        BodyLimits own = routes.limitsFor(request.method(), request.uri());
        ResolvedLimits limits = current.get();
        String name = limits == null ? null : RouteBuckets.of(request.uri());
        if (name == null) {
            return own;
        }
        RouteLimit r = limits.route(name);
        if (r.maxBodyByteSize() <= 0) {
            return own;
        }
        long decompressed = r.maxBodyDecompressed() > 0 ? r.maxBodyDecompressed() : r.maxBodyByteSize();
        return new BodyLimits(r.maxBodyByteSize(), decompressed);
    }
}
