package dev.fleetserver.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.auth.AgentAuthenticator;
import dev.fleetserver.core.util.Json;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * {@code GET /api/status}: the server's state, plus its version for callers with a valid API key. A bad key never
 * fails the request; it only hides the version.
 */
public final class StatusService {
    /** Unit states as the original reports them; only HEALTHY answers 200. */
    public enum State { STARTING, CONFIGURING, HEALTHY, DEGRADED, FAILED, STOPPING, STOPPED }

    private final AgentAuthenticator auth;
    private volatile State state = State.STARTING;

    public StatusService(AgentAuthenticator auth) {
        this.auth = auth;
    }

    public State state() {
        return state;
    }

    public void state(State state) {
        this.state = state;
    }

    /** The status body; {@link #state()} at the time decides the HTTP status. */
    public CompletableFuture<ObjectNode> status(List<String> authorization) {
        State now = state;
        ObjectNode body = Json.object();
        body.put("name", "fleet-server");
        body.put("status", now.name());
        if (authorization == null || authorization.isEmpty()) {
            return CompletableFuture.completedFuture(body);
        }
        return auth.authenticateKey(authorization).handle((key, t) -> {
            if (t == null) {
                ObjectNode v = body.putObject("version");
                v.put("number", FleetVersion.VERSION);
                v.put("build_hash", FleetVersion.BUILD_HASH);
                v.put("build_time", FleetVersion.BUILD_TIME);
            }
            return body;
        });
    }
}
