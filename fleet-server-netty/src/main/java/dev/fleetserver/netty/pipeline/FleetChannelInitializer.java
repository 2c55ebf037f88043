package dev.fleetserver.netty.pipeline;

import dev.fleetserver.netty.http.BodyLimitHandler;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.FleetHandler;
import dev.fleetserver.netty.http.GzipWhenAskedCompressor;
import dev.fleetserver.netty.http.IdleBetweenRequestsHandler;
import dev.fleetserver.netty.http.Routes;
import dev.fleetserver.netty.metrics.DaemonMetrics;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import java.time.Duration;

/** Builds a connection's pipeline; the order is documented in {@link PipelineNames}. */
public final class FleetChannelInitializer extends ChannelInitializer<SocketChannel> {

    /** What shapes a listener's pipeline. */
    public record Settings(int maxHeaderBytes, Duration idle, int compressionLevel, int compressionThreshold, boolean agentApi) {
    }

    private final Routes routes;
    private final Settings settings;
    private final DaemonMetrics metrics;

    public FleetChannelInitializer(Routes routes, Settings settings) {
        this(routes, settings, null);
    }

    /** @param metrics counts this listener's connections and requests, or null */
    public FleetChannelInitializer(Routes routes, Settings settings, DaemonMetrics metrics) {
        this.routes = routes;
        this.settings = settings;
        this.metrics = metrics;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ChannelPipeline p = ch.pipeline();
        p.addLast(PipelineNames.HTTP_CODEC, new HttpServerCodec(4096, settings.maxHeaderBytes(), 8192));
        if (metrics != null) {
            p.addLast(PipelineNames.METRICS, metrics.newConnectionHandler());
        }
        p.addLast(PipelineNames.KEEP_ALIVE, new HttpServerKeepAliveHandler());
        p.addLast(PipelineNames.IDLE, new IdleBetweenRequestsHandler(settings.idle()));
        p.addLast(PipelineNames.RAW_BODY_LIMIT, new BodyLimitHandler(routes, false));
        p.addLast(PipelineNames.DECOMPRESSOR, new HttpContentDecompressor());
        p.addLast(PipelineNames.BODY_LIMIT, new BodyLimitHandler(routes, true));
        p.addLast(PipelineNames.AGGREGATOR, new HttpObjectAggregator(BodyLimits.MAX + 1));
        if (settings.compressionLevel() != 0) {
            p.addLast(PipelineNames.COMPRESSOR,
                    new GzipWhenAskedCompressor(settings.compressionLevel() < 0 ? 6 : settings.compressionLevel(),
                            settings.compressionThreshold()));
        }
        p.addLast(PipelineNames.FLEET_HANDLER, new FleetHandler(routes, settings.agentApi()));
    }
}
