package dev.fleetserver.netty.route;

import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.StatusService;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.http.Routes;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The agent-facing endpoints: each translates HTTP to one core call and the result back. Errors all go through
 * {@link Exchange#fail}, which maps them in one place.
 */
public final class AgentRoutes {
    private final FleetCore core;

    private AgentRoutes(FleetCore core) {
        this.core = core;
    }

    public static Routes table(FleetCore core) {
        return table(core, PgpKeyRoute.of(dev.fleetserver.netty.config.PgpConfig.defaults(), java.nio.file.Path.of(".")));
    }

    public static Routes table(FleetCore core, PgpKeyRoute pgp) {
        AgentRoutes r = new AgentRoutes(core);
        return new Routes()
                .add(HttpMethod.GET, "/api/status", BodyLimits.DEFAULT, r::status)
                .add(HttpMethod.POST, "/api/fleet/agents/enroll", BodyLimits.ENROLL, r::enroll)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/checkin", BodyLimits.CHECKIN, r::checkin)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/acks", BodyLimits.ACKS, r::acks)
                .add(HttpMethod.GET, "/api/agents/upgrades/{version}/pgp-public-key", BodyLimits.DEFAULT, pgp::handle);
    }

    /** {@code GET /api/status}: 200 only when HEALTHY, 503 with the same body otherwise. */
    private void status(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        ex.releaseRequest();
        core.status().status(authorization).whenComplete((body, t) -> {
            if (t != null) {
                ex.fail(t);
                return;
            }
            boolean healthy = StatusService.State.HEALTHY.name().equals(body.path("status").asText());
            ex.respondJson(healthy ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        });
    }

    /** {@code POST /api/fleet/agents/enroll}. */
    private void enroll(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String userAgent = ex.header(HttpHeaderNames.USER_AGENT);
        // The body is only read once the key checked out; the request stays retained until then.
        byte[] body = bytes(ex);
        ex.releaseRequest();
        core.enroll().enroll(authorization, userAgent, new java.io.ByteArrayInputStream(body)).whenComplete((resp, t) -> {
            if (t != null) {
                ex.fail(t);
            } else {
                ex.respondJson(HttpResponseStatus.OK, resp);
            }
        });
    }

    /** {@code POST /api/fleet/agents/{id}/checkin}: authenticate, then hand the exchange to core as the sink. */
    private void checkin(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String userAgent = ex.header(HttpHeaderNames.USER_AGENT);
        String agentId = ex.param("id");
        byte[] body = bytes(ex);
        // Released before anything can park: a parked checkin holds no buffers.
        ex.releaseRequest();
        core.auth().authenticateAgent(authorization, agentId).whenComplete((agent, t) -> {
            if (t != null) {
                ex.fail(t);
                return;
            }
            try {
                core.checkin().checkin(agent, userAgent, new java.io.ByteArrayInputStream(body), ex.startNanos(), ex);
            } catch (RuntimeException e) {
                ex.fail(e);
            }
        });
    }

    /** {@code POST /api/fleet/agents/{id}/acks}: HTTP status is the highest item status. */
    private void acks(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String agentId = ex.param("id");
        byte[] body = bytes(ex);
        ex.releaseRequest();
        core.auth().authenticateAgent(authorization, agentId)
                .thenCompose(agent -> core.acks().ack(agent, new java.io.ByteArrayInputStream(body)))
                .whenComplete((result, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respondJson(HttpResponseStatus.valueOf(result.httpStatus()), result.body());
                    }
                });
    }

    private static byte[] bytes(Exchange ex) {
        try (var in = ex.body()) {
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
