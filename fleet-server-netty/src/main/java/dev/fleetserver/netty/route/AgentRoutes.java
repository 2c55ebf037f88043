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
        Routes routes = new Routes()
                .add(HttpMethod.GET, "/api/status", BodyLimits.DEFAULT, r::status)
                .add(HttpMethod.POST, "/api/fleet/agents/enroll", BodyLimits.ENROLL, r::enroll)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/checkin", BodyLimits.CHECKIN, r::checkin)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/acks", BodyLimits.ACKS, r::acks)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/audit/unenroll", BodyLimits.AUDIT_UNENROLL, r::auditUnenroll)
                .add(HttpMethod.GET, "/api/agents/upgrades/{version}/pgp-public-key", BodyLimits.DEFAULT, pgp::handle);
        return UploadRoutes.addTo(routes, core);
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

    /** {@code POST /api/fleet/agents/enroll}: the key, User-Agent and enrollment record checked before the body is read. */
    private void enroll(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String userAgent = ex.header(HttpHeaderNames.USER_AGENT);
        ex.releaseRequest();
        var enroll = core.enroll();
        enroll.admit(authorization, userAgent)
                .thenCompose(admitted -> ex.readJson("enroll").thenCompose(body -> enroll.enroll(admitted, body)))
                .whenComplete((resp, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respondJson(HttpResponseStatus.OK, resp);
                    }
                });
    }

    /** {@code POST /api/fleet/agents/{id}/checkin}: authenticate, read the body, then hand the exchange to core as the sink. */
    private void checkin(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String userAgent = ex.header(HttpHeaderNames.USER_AGENT);
        String agentId = ex.param("id");
        ex.releaseRequest();
        core.auth().authenticateAgent(authorization, agentId)
                .thenCompose(agent -> ex.readJson("checkin").thenAccept(body ->
                        core.checkin().checkin(agent, userAgent, body, ex.startNanos(), ex)))
                .whenComplete((v, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    }
                });
    }

    /** {@code POST /api/fleet/agents/{id}/acks}: HTTP status is the highest item status. */
    private void acks(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String agentId = ex.param("id");
        ex.releaseRequest();
        core.auth().authenticateAgent(authorization, agentId)
                .thenCompose(agent -> ex.readJson("ack").thenCompose(body -> core.acks().ack(agent, body)))
                .whenComplete((result, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respondJson(HttpResponseStatus.valueOf(result.httpStatus()), result.body());
                    }
                });
    }

    /**
     * {@code POST /api/fleet/agents/{id}/audit/unenroll}: 200 with an empty body. An agent already marked orphaned
     * is refused before its body is read.
     */
    private void auditUnenroll(Exchange ex) {
        var authorization = ex.headers(HttpHeaderNames.AUTHORIZATION);
        String agentId = ex.param("id");
        ex.releaseRequest();
        var audit = core.audit();
        core.auth().authenticateAgent(authorization, agentId)
                .thenCompose(agent -> {
                    audit.admit(agent);
                    return ex.readJson("audit/unenroll").thenCompose(body -> audit.unenroll(agent, body));
                })
                .whenComplete((v, t) -> {
                    if (t != null) {
                        ex.fail(t);
                    } else {
                        ex.respond(HttpResponseStatus.OK, null);
                    }
                });
    }
}
