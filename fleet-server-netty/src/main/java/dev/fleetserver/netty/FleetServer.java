package dev.fleetserver.netty;

import dev.fleetserver.core.FleetCore;
import dev.fleetserver.netty.metrics.DaemonMetrics;
import dev.fleetserver.netty.pipeline.FleetChannelInitializer;
import dev.fleetserver.netty.route.AgentRoutes;
import dev.fleetserver.netty.route.ManagementRoutes;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners: the agent API and the management API, on one set of event loops (epoll where available). Owns
 * connections, not domain state; {@link #stop} drains them gracefully.
 */
public final class FleetServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetServer.class);

    /**
     * Listener settings.
     *
     * @param managementPort {@code -1} disables the management listener
     */
    public record Options(String host, int port, String managementHost, int managementPort, String managementToken,
                          int maxHeaderBytes, Duration idle, int compressionLevel, int compressionThreshold) {
    }

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ChannelGroup connections = new DefaultChannelGroup("fleet-connections", GlobalEventExecutor.INSTANCE);
    private final List<Channel> listeners = new ArrayList<>();
    private final FleetCore core;

    private FleetServer(FleetCore core) {
        this.core = core;
        boolean epoll = Epoll.isAvailable();
        this.boss = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        this.workers = epoll ? new EpollEventLoopGroup() : new NioEventLoopGroup();
    }

    /** Binds both listeners; fails (and releases everything) if either cannot bind. */
    public static FleetServer start(Options options, FleetCore core) throws InterruptedException {
        return start(options, core, null);
    }

    /** @param metrics counts the agent API's connections and requests, or null */
    public static FleetServer start(Options options, FleetCore core, DaemonMetrics metrics) throws InterruptedException {
        FleetServer server = new FleetServer(core);
        try {
            server.bind(options.host(), options.port(), new FleetChannelInitializer(AgentRoutes.table(core),
                    new FleetChannelInitializer.Settings(options.maxHeaderBytes(), options.idle(), options.compressionLevel(),
                            options.compressionThreshold(), true), metrics));
            if (options.managementPort() >= 0) {
                server.bind(options.managementHost(), options.managementPort(), new FleetChannelInitializer(
                        ManagementRoutes.table(core, options.managementToken()),
                        new FleetChannelInitializer.Settings(options.maxHeaderBytes(), options.idle(), 0, 0, false)));
            }
            return server;
        } catch (RuntimeException | InterruptedException e) {
            server.close();
            throw e;
        }
    }

    private void bind(String host, int port, FleetChannelInitializer initializer) throws InterruptedException {
        Class<? extends ServerChannel> type = workers instanceof EpollEventLoopGroup
                ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(type)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new io.netty.channel.ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        ch.pipeline().addLast(initializer);
                    }
                });
        Channel ch = b.bind(new InetSocketAddress(host, port)).sync().channel();
        listeners.add(ch);
        LOG.info("listening on {}", ch.localAddress());
    }

    /** The bound agent-API port (useful with port 0). */
    public int port() {
        return ((InetSocketAddress) listeners.get(0).localAddress()).getPort();
    }

    /** The bound management port, or -1. */
    public int managementPort() {
        return listeners.size() > 1 ? ((InetSocketAddress) listeners.get(1).localAddress()).getPort() : -1;
    }

    public int openConnections() {
        return connections.size();
    }

    /**
     * Graceful stop: stop accepting, answer every parked checkin with nothing new, flush pending writes, give open
     * requests up to {@code drain} to finish, then close what is left.
     */
    public void stop(Duration drain) {
        listeners.forEach(Channel::close);
        try {
            core.stop().get(drain.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.warn("stopping core did not finish cleanly: {}", e.toString());
        }
        long deadline = System.nanoTime() + drain.toNanos();
        // Parked checkins were just answered; let those writes reach the wire before closing.
        while (System.nanoTime() < deadline && connections.stream().anyMatch(c -> c.isActive() && !c.config().isAutoRead())) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        close();
    }

    @Override
    public void close() {
        listeners.forEach(Channel::close);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
