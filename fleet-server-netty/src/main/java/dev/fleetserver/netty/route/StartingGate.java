package dev.fleetserver.netty.route;

import dev.fleetserver.core.StatusService;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.netty.console.ConsoleRoutes;
import dev.fleetserver.netty.http.ErrorMapper;
import dev.fleetserver.netty.http.RouteHandler;
import dev.fleetserver.netty.http.Routes;
import io.netty.handler.codec.http.FullHttpResponse;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * While the server is {@link StatusService.State#STARTING} (on Elasticsearch: until the cluster has been reached and
 * the Fleet indices and default policy are in place), routes that need the store answer {@code 503} with
 * {@code Retry-After} at once. Without the gate they would reach a store that is not ready, and a missing index
 * could read as "no such key", which agents hear as {@code 401} and stop checking in. {@code /api/status} (which
 * reports {@code STARTING} itself), the upgrade-key route (which needs no store) and the console's files and sign-in
 * stay open.
 */
public final class StartingGate {
    private static final Set<String> OPEN = Stream.concat(
            Stream.of("/api/status", "/api/agents/upgrades/{version}/pgp-public-key"), ConsoleRoutes.OPEN.stream())
            .collect(Collectors.toUnmodifiableSet());
    static final String MESSAGE = "Fleet Server is starting: waiting for Elasticsearch";
    /** Written to every request held back while starting: built once. */
    private static final FullHttpResponse STARTING = ErrorMapper.template(new FleetException(FleetError.SERVICE_UNAVAILABLE, MESSAGE));

    private StartingGate() {
    }

    /** {@code routes} with every route but the open ones guarded by {@code status}. */
    public static Routes guard(Routes routes, StatusService status) {
        return routes.wrapped((pattern, handler) -> OPEN.contains(pattern) ? handler : guarded(handler, status));
    }

    private static RouteHandler guarded(RouteHandler handler, StatusService status) {
        return ex -> {
            if (status.state() == StatusService.State.STARTING) {
                ex.releaseRequest();
                ex.failFixed(STARTING);
            } else {
                handler.handle(ex);
            }
        };
    }
}
