package dev.fleetserver.netty.tls;

import dev.fleetserver.netty.config.SslConfig;
import dev.fleetserver.netty.config.TimeoutsConfig;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.Routes;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.pipeline.FleetChannelInitializer;
import dev.fleetserver.netty.pipeline.ListenerSettings;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.ssl.SslProvider;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The real connection pipeline with TLS in front of one trivial route, {@code GET /hello}. */
final class TlsTestServer implements AutoCloseable {
    final ServerTls tls;
    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel channel;

    private TlsTestServer(ServerTls tls, int port) throws InterruptedException {
        this.tls = tls;
        Routes routes = new Routes().add(HttpMethod.GET, "/hello", BodyLimits.DEFAULT, ex -> {
            ex.releaseRequest();
            ex.respond(HttpResponseStatus.OK, "text/plain", "hello".getBytes(StandardCharsets.US_ASCII));
        });
        FleetChannelInitializer initializer = new FleetChannelInitializer(routes,
                new ListenerSettings(true, 8192, TimeoutsConfig.defaults().withConnectionTimeouts(Duration.ofSeconds(5),
                        Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ofSeconds(35)), 0, 0, null, BodyBudget.PROCESS), tls);
        channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class).childHandler(initializer)
                .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
    }

    static TlsTestServer start(SslConfig config, SslProvider provider) throws Exception {
        return start(config, provider, null, 0);
    }

    /** @param port 0 for any free port; a fixed one to stand in for a server restarted on its port */
    static TlsTestServer start(SslConfig config, SslProvider provider, java.nio.file.Path ticketKeys, int port)
            throws Exception {
        return new TlsTestServer(ServerTls.start(config, provider, ticketKeys), port);
    }

    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        tls.close();
        channel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
