package dev.fleetserver.netty.pipeline;

import dev.fleetserver.netty.http.AdmissionHandler;
import dev.fleetserver.netty.http.ConnectionTimeoutsHandler;
import dev.fleetserver.netty.http.FleetHandler;
import dev.fleetserver.netty.http.FleetHttpCodec;
import dev.fleetserver.netty.http.PipeliningGuard;
import dev.fleetserver.netty.http.ResponseGzip;
import dev.fleetserver.netty.http.RouteBodyLimits;
import dev.fleetserver.netty.http.Routes;
import dev.fleetserver.netty.limit.Admission;
import dev.fleetserver.netty.limit.ConnectionLimit;
import dev.fleetserver.netty.limit.ResolvedLimits;
import dev.fleetserver.netty.metrics.DaemonMetrics;
import dev.fleetserver.netty.tls.ServerTls;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;

/**
 * Builds a connection's pipeline; the order is documented in {@link PipelineNames}. One instance per listener: it
 * owns the listener's connection cap and admission control, which its connections share.
 */
public final class FleetChannelInitializer extends ChannelInitializer<Channel> {

    private final Routes routes;
    private final ListenerSettings settings;
    private final ServerTls tls;
    private final ConnectionLimit connectionLimit;
    private final Admission admission;
    private final RouteBodyLimits bodyLimits;
    private final ConnectionTimeoutsHandler.Limits timeouts;
    private final ResponseGzip gzip;
    private final DaemonMetrics metrics;

    public FleetChannelInitializer(Routes routes, ListenerSettings settings) {
        this(routes, settings, null, null);
    }

    /** @param tls TLS for this listener, or null for plain HTTP */
    public FleetChannelInitializer(Routes routes, ListenerSettings settings, ServerTls tls) {
        this(routes, settings, tls, null);
    }

    /** @param metrics counts this listener's connections and requests, or null */
    public FleetChannelInitializer(Routes routes, ListenerSettings settings, DaemonMetrics metrics) {
        this(routes, settings, null, metrics);
    }

    /**
     * @param tls     TLS for this listener, or null for plain HTTP
     * @param metrics counts this listener's connections and requests, or null
     */
    public FleetChannelInitializer(Routes routes, ListenerSettings settings, ServerTls tls, DaemonMetrics metrics) {
        this.routes = routes;
        this.settings = settings;
        this.tls = tls;
        this.metrics = metrics;
        ResolvedLimits limits = settings.limits();
        this.connectionLimit = new ConnectionLimit(limits == null ? 0 : limits.connectionCap());
        this.admission = limits == null ? null : new Admission(limits, System::nanoTime);
        Admission live = admission;
        this.bodyLimits = new RouteBodyLimits(routes, live == null ? () -> null : live::limits);
        this.timeouts = ConnectionTimeoutsHandler.Limits.of(settings.timeouts());
        this.gzip = new ResponseGzip(settings.compressionLevel(), settings.compressionThreshold());
    }

    @Override
    protected void initChannel(Channel ch) {
        if (!connectionLimit.admit(ch)) {
            // Beyond 1.1 x max_connections: closed before any handler, TLS included, does any work.
            if (metrics != null) {
                metrics.connectionRejected();
            }
            ch.close();
            return;
        }
        ChannelPipeline p = ch.pipeline();
        if (tls != null) {
            tls.addTo(ch, settings.timeouts().read());
        }
        p.addLast(PipelineNames.HTTP_CODEC, new FleetHttpCodec(4096, settings.maxHeaderBytes(), 8192));
        p.addLast(PipelineNames.KEEP_ALIVE, new HttpServerKeepAliveHandler());
        p.addLast(PipelineNames.PIPELINING, new PipeliningGuard(settings.budget()));
        if (metrics != null) {
            p.addLast(PipelineNames.METRICS, metrics.newConnectionHandler());
        }
        p.addLast(PipelineNames.TIMEOUTS, new ConnectionTimeoutsHandler(timeouts));
        if (admission != null) {
            p.addLast(PipelineNames.ADMISSION, new AdmissionHandler(admission));
        }
        p.addLast(PipelineNames.FLEET_HANDLER, new FleetHandler(routes, settings.agentApi(), gzip, bodyLimits, settings.budget()));
    }

    /** This listener's TCP connection cap: open connections (refused ones until closed) and refusals. */
    public ConnectionLimit connectionLimit() {
        return connectionLimit;
    }

    /** This listener's admission control, or null. */
    public Admission admission() {
        return admission;
    }
}
