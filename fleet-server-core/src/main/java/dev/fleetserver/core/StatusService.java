package dev.fleetserver.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.auth.AgentAuthenticator;
import dev.fleetserver.core.self.HealthSignals;
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
    private final HealthSignals health;
    private volatile State state = State.STARTING;
    private volatile String failure;

    public StatusService(AgentAuthenticator auth, HealthSignals health) {
        this.auth = auth;
        this.health = health;
    }

    /**
     * {@link State#FAILED} once {@link #failed} was called, whatever was set since; else {@link State#DEGRADED} while
     * the server is otherwise {@code HEALTHY} but cannot reach its store (its latest call failed and none has succeeded
     * since: agents could not be served); else the state last set.
     */
    public State state() {
        if (failure != null) {
            return State.FAILED;
        }
        State now = state;
        return now == State.HEALTHY && !health.storeReachable() ? State.DEGRADED : now;
    }

    public void state(State state) {
        this.state = state;
    }

    /**
     * Marks the server as failed for good (e.g. its store is damaged): {@link #state()} is {@link State#FAILED} from
     * now on, so {@code /api/status} answers 503 and a load balancer can take the server out. The first reason wins.
     */
    public synchronized void failed(String reason) {
        if (failure == null) {
            failure = reason;
        }
    }

    /** Why the server {@linkplain #failed failed}, or null. */
    public String failure() {
        return failure;
    }

    /** The status body; {@link #state()} at the time decides the HTTP status. */
    public CompletableFuture<ObjectNode> status(List<String> authorization) {
        State now = state();
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
