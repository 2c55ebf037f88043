package dev.fleetserver.netty;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.FleetVersion;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.config.ConsoleConfig;
import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.ManagementConfig;
import dev.fleetserver.netty.config.ServerConfig;
import dev.fleetserver.netty.console.ConsoleSessions;
import dev.fleetserver.netty.console.SignInThrottle;
import dev.fleetserver.netty.http.ConnectionTimeoutsHandler;
import dev.fleetserver.netty.http.Draining;
import dev.fleetserver.netty.http.Routes;
import dev.fleetserver.netty.limit.Admission;
import dev.fleetserver.netty.limit.ConnectionLimit;
import dev.fleetserver.netty.limit.ResolvedLimits;
import dev.fleetserver.netty.metrics.DaemonMetrics;
import dev.fleetserver.netty.pipeline.FleetChannelInitializer;
import dev.fleetserver.netty.pipeline.ListenerSettings;
import dev.fleetserver.netty.route.AgentRoutes;
import dev.fleetserver.netty.route.ManagementRoutes;
import dev.fleetserver.netty.route.PgpKeyRoute;
import dev.fleetserver.netty.route.StartingGate;
import dev.fleetserver.netty.tls.ServerTls;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
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
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
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
    /** While stopping, how long a connection must have been between requests before it is closed under the client. */
    static final long DRAIN_IDLE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ChannelGroup connections = new DefaultChannelGroup("fleet-connections", GlobalEventExecutor.INSTANCE);
    private final List<Channel> listeners = new ArrayList<>();
    private final FleetCore core;
    private ServerTls tls;
    private ServerTls managementTls;
    private FleetChannelInitializer agentApi;

    private FleetServer(FleetCore core) {
        this.core = core;
        boolean epoll = Epoll.isAvailable();
        this.boss = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        this.workers = epoll ? new EpollEventLoopGroup() : new NioEventLoopGroup();
    }

    /**
     * Binds both listeners; fails (and releases everything) if either cannot bind.
     *
     * @param server          the agent listener ({@code inputs[0].server})
     * @param management      the management listener, not bound when disabled
     * @param managementToken the bearer token the management API requires
     * @param tls             TLS for the agent listener, or null for plain HTTP; the server closes it when it closes
     * @param managementTls   TLS for the management listener, or null for plain HTTP; closed with the server too
     * @param pgp             the PGP key route, or null for its defaults
     * @param metrics         counts the agent API's connections and requests, or null
     */
    public static FleetServer start(ServerConfig server, ManagementConfig management, String managementToken, FleetCore core,
                                    ServerTls tls, ServerTls managementTls, PgpKeyRoute pgp, DaemonMetrics metrics)
            throws InterruptedException {
        FleetServer fleet;
        try {
            fleet = new FleetServer(core);
        } catch (RuntimeException | Error e) {
            for (ServerTls t : new ServerTls[] {tls, managementTls}) {
                if (t != null) {
                    t.close();
                }
            }
            throw e;
        }
        fleet.tls = tls;
        fleet.managementTls = managementTls;
        try {
            ResolvedLimits limits = ResolvedLimits.resolve(server.limits(), ResolvedLimits.availableMemory());
            LOG.info("{}", limits.describe());
            fleet.agentApi = new FleetChannelInitializer(StartingGate.guard(
                    pgp == null ? AgentRoutes.table(core) : AgentRoutes.table(core, pgp), core.status()),
                    ListenerSettings.agentApi(server, limits), tls, metrics);
            fleet.bind("agent", server.host(), server.port(), fleet.agentApi);
            if (tls == null) {
                LOG.warn("the agent listener serves plain HTTP: set inputs[0].server.ssl to serve TLS");
            }
            if (management.enabled()) {
                fleet.bind("management", management.host(), management.port(), new FleetChannelInitializer(
                        StartingGate.guard(fleet.managementRoutes(management.console(), managementToken, server, metrics),
                                core.status()),
                        ListenerSettings.management(server), managementTls));
                if (managementTls == null && !loopback(management.host())) {
                    LOG.warn("the management listener serves plain HTTP on {}: its token and console cookie cross the "
                            + "network in clear; set management.ssl, or keep it on loopback and use an SSH tunnel",
                            management.host());
                }
            }
            return fleet;
        } catch (RuntimeException | InterruptedException | Error e) {
            fleet.close();
            throw e;
        }
    }

    private static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** The management API, with the browser console unless it is turned off. */
    private Routes managementRoutes(ConsoleConfig console, String token, ServerConfig server, DaemonMetrics metrics) {
        if (!console.enabled()) {
            return ManagementRoutes.table(core, token);
        }
        return ManagementRoutes.table(core, token, new ConsoleSessions(console.sessionLifetime()),
                new SignInThrottle(console.signInMaxPause()), () -> serverHealth(server, metrics));
    }

    /**
     * What the console shows of the server itself: its state, the agent listener's address (host empty when it listens
     * on every address) and, when it keeps them, its measurements.
     */
    private ObjectNode serverHealth(ServerConfig server, DaemonMetrics metrics) {
        ObjectNode out = Json.object();
        out.put("status", core.status().state().name());
        out.put("version", FleetVersion.VERSION);
        ObjectNode agents = out.putObject("agent_listener");
        agents.put("scheme", tls != null ? "https" : "http");
        agents.put("host", server.host().equals("0.0.0.0") || server.host().equals("::") ? "" : server.host());
        agents.put("port", port());
        if (metrics != null) {
            ObjectNode stats = metrics.stats();
            out.set("fleet", stats.get("fleet"));
            out.set("jvm", stats.get("jvm"));
            out.set("uptime_ms", stats.path("beat").path("info").path("uptime").path("ms"));
        }
        return out;
    }

    /** @param listener which listener, for the message when the address cannot be bound */
    private void bind(String listener, String host, int port, FleetChannelInitializer initializer) throws InterruptedException {
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
        ChannelFuture bound = b.bind(new InetSocketAddress(host, port)).await();
        if (!bound.isSuccess()) {
            throw bindFailure(listener, host, port, bound.cause());
        }
        Channel ch = bound.channel();
        listeners.add(ch);
        LOG.info("listening on {}", ch.localAddress());
    }

    /**
     * A listener that cannot bind, said in one line (e.g. {@code cannot listen on 0.0.0.0:8220 (agent listener):
     * address already in use}); the exception itself goes to the debug log.
     */
    public static StartupException bindFailure(String listener, String host, int port, Throwable cause) {
        LOG.debug("binding the {} listener to {}:{} failed", listener, host, port, cause);
        String reason = String.valueOf(cause == null ? null : cause.getMessage());
        int colon = reason.lastIndexOf(": ");
        if (reason.startsWith("bind(") && colon >= 0) {
            reason = reason.substring(colon + 2);  // Netty's native transport: "bind(..) failed: Address already in use"
        }
        return new StartupException("cannot listen on " + host + ":" + port + " (" + listener + " listener): "
                + reason.toLowerCase(java.util.Locale.ROOT), cause);
    }

    /**
     * Puts new limits in force on the agent listener without a restart (the Fleet Server policy changed them): the
     * profile is chosen again, in-flight caps and the connection cap change at once, rates start fresh buckets.
     *
     * @return the limits now in force
     */
    public ResolvedLimits applyLimits(LimitsConfig limits) {
        ResolvedLimits resolved = ResolvedLimits.resolve(limits, ResolvedLimits.availableMemory());
        if (agentApi.admission() != null) {
            agentApi.admission().apply(resolved);
        }
        agentApi.connectionLimit().cap(resolved.connectionCap());
        return resolved;
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

    /** The agent listener's admission control (in-flight counts, refusals), for tests and metrics. */
    public Admission admission() {
        return agentApi.admission();
    }

    /** The agent listener's TCP connection cap (open connections, refusals), for tests and metrics. */
    public ConnectionLimit connectionLimit() {
        return agentApi.connectionLimit();
    }

    /**
     * Graceful stop, within {@code drain} overall: stop accepting; answer every parked checkin with an empty 200 and
     * {@code Connection: close} (as every answer from now on, so agents do not check in again on the same connection)
     * and flush pending writes (core's stop); close connections that are between requests (once they have been for
     * {@link #DRAIN_IDLE_GRACE_NANOS}, and not before that long into the drain); let requests in flight finish (their
     * connections close once answered); flush again what they queued; close whatever is left.
     */
    public void stop(Duration drain) {
        long drainStart = System.nanoTime();
        long deadline = drainStart + drain.toNanos();
        listeners.forEach(l -> {
            Draining.start(l);
            l.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        });
        try {
            core.stop().get(drain.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.warn("stopping core did not finish cleanly: {}", e.toString());
        }
        int waited = 0;
        while (System.nanoTime() < deadline) {
            // Busy connections close once their answer is out (checked again each round). A connection between
            // requests is closed once it has been so for a moment, and not in the drain's first moment: the client
            // may be sending its next request on it right now, and closing would reset that; given the moment, the
            // request arrives and is answered (with Connection: close) instead.
            boolean busy = false;
            boolean early = System.nanoTime() - drainStart < DRAIN_IDLE_GRACE_NANOS;
            for (Channel c : connections) {
                if (ConnectionTimeoutsHandler.busy(c)) {
                    busy = true;
                } else if (early || ConnectionTimeoutsHandler.idleNanos(c) < DRAIN_IDLE_GRACE_NANOS) {
                    busy = true;
                } else {
                    closeAfterPendingWrites(c);
                }
            }
            if (!busy) {
                break;
            }
            if (waited++ == 0) {
                LOG.info("waiting up to {} for requests in flight", drain);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        try {
            core.checkin().flushPending().get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.warn("flushing checkins written while draining did not finish: {}", e.toString());
        }
        connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        close();
    }

    /** Closes once what was written before (a parked checkin's last answer) has reached the socket. */
    private static void closeAfterPendingWrites(Channel c) {
        var first = c.pipeline().firstContext();
        if (first == null) {
            c.close();
            return;
        }
        // Written from the head end, so no HTTP handler sees it; completes after everything queued before it.
        first.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void close() {
        listeners.forEach(Channel::close);
        if (tls != null) {
            tls.close();
        }
        if (managementTls != null) {
            managementTls.close();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
