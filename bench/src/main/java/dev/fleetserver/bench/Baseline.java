package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The floor for our pipeline: a minimal Netty HTTP server that speaks just enough of the agent protocol for
 * {@link LoadGenerator} to drive it the same way (enroll, gzip checkins, acks), parks every checkin that reports
 * the current policy revision and answers all of them with one prebuilt POLICY_CHANGE body when the policy
 * "changes" ({@code PUT /api/fleet/agent_policies/{id}} or {@code POST /release} on the management port).
 *
 * <p>Per parked checkin it holds only the channel's own pipeline (codec, decompressor, aggregator, one handler)
 * and an entry in one set: no timer, no store, no auth. Stops after {@code --max-seconds} or on SIGTERM.
 */
public final class Baseline {
    static final String USAGE = """
            java -cp bench.jar dev.fleetserver.bench.Baseline [--host 127.0.0.1] [--port 8220] \\
                [--management-port 8221] [--max-seconds 3600]""";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Set<AgentConnection> parked = ConcurrentHashMap.newKeySet();
    private final AtomicLong revision = new AtomicLong(1);
    private final AtomicLong agentIds = new AtomicLong();
    private volatile ByteBuf policyChange = policyChange(1);

    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv, USAGE, List.of("host", "port", "management-port", "max-seconds", "data-dir"));
        String host = a.get("host", "127.0.0.1");
        Baseline b = new Baseline();
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup boss = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        EventLoopGroup workers = epoll ? new EpollEventLoopGroup() : new NioEventLoopGroup();
        Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Channel agentsCh = b.bind(boss, workers, type, host, a.integer("port", 8220), false);
        Channel mgmtCh = b.bind(boss, workers, type, host, a.integer("management-port", 8221), true);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown, "baseline-shutdown"));
        System.out.println("Fleet Server listening on " + host + ":" + ((java.net.InetSocketAddress) agentsCh.localAddress()).getPort()
                + ", management API on " + host + ":" + ((java.net.InetSocketAddress) mgmtCh.localAddress()).getPort()
                + " (baseline, " + type.getSimpleName() + ")");
        System.out.println("Management token file: none (baseline accepts any token)");
        System.out.println("Enrollment token: baseline");
        System.out.flush();
        stop.await(a.longValue("max-seconds", 3600), TimeUnit.SECONDS);
        agentsCh.close();
        mgmtCh.close();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }

    private Channel bind(EventLoopGroup boss, EventLoopGroup workers, Class<? extends ServerChannel> type, String host,
                         int port, boolean management) throws InterruptedException {
        return new ServerBootstrap().group(boss, workers).channel(type)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192), new HttpContentDecompressor(),
                                new HttpObjectAggregator(1 << 20),
                                management ? new ManagementHandler() : new AgentConnection());
                    }
                }).bind(host, port).sync().channel();
    }

    private static ByteBuf policyChange(long rev) {
        String body = "{\"ack_token\":\"\",\"action\":\"checkin\",\"actions\":[{\"agent_id\":\"\",\"created_at\":\"\","
                + "\"data\":{\"policy\":{\"id\":\"default\",\"revision\":" + rev + ",\"inputs\":[]}},"
                + "\"id\":\"policy:default:" + rev + "\",\"input_type\":\"\",\"type\":\"POLICY_CHANGE\"}]}";
        return Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8).asReadOnly());
    }

    private static final ByteBuf ACKS = Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(
            "{\"action\":\"acks\",\"errors\":false,\"items\":[{\"message\":\"OK\",\"status\":200}]}", StandardCharsets.UTF_8));

    private static FullHttpResponse ok(ByteBuf body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        return r;
    }

    /** Answers every parked checkin with the new revision; the body is built once and shared. */
    private long release() {
        long rev = revision.incrementAndGet();
        ByteBuf body = policyChange(rev);
        policyChange = body;
        for (AgentConnection c : parked) {
            c.wake(body);
        }
        return rev;
    }

    /** One agent connection; parks checkins that report the current revision. */
    private final class AgentConnection extends SimpleChannelInboundHandler<FullHttpRequest> {
        private ChannelHandlerContext ctx;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws IOException {
            String uri = req.uri();
            if (uri.endsWith("/checkin?") || uri.endsWith("/checkin")) {
                JsonNode body = JSON.readTree(new ByteBufInputStream(req.content()));
                long current = revision.get();
                if (body.path("policy_revision_idx").asLong(0) < current) {
                    ctx.writeAndFlush(ok(policyChange.retainedDuplicate()));
                } else {
                    parked.add(this);
                    // A release between the read of the revision and the add would otherwise be missed.
                    if (revision.get() != current) {
                        wake(policyChange);
                    }
                }
            } else if (uri.startsWith("/api/fleet/agents/enroll")) {
                long id = agentIds.incrementAndGet();
                String body = "{\"action\":\"created\",\"item\":{\"id\":\"baseline-" + id
                        + "\",\"access_api_key\":\"YmFzZWxpbmU6a2V5\",\"active\":true,\"policy_id\":\"default\",\"type\":\"PERMANENT\"}}";
                ctx.writeAndFlush(ok(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8)));
            } else if (uri.endsWith("/acks?") || uri.endsWith("/acks")) {
                ctx.writeAndFlush(ok(ACKS.retainedDuplicate()));
            } else {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND);
                r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
                ctx.writeAndFlush(r);
            }
        }

        void wake(ByteBuf body) {
            if (parked.remove(this)) {
                ctx.writeAndFlush(ok(body.retainedDuplicate()));
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            parked.remove(this);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** {@code PUT /api/fleet/agent_policies/{id}} or {@code POST /release}: a new revision for everyone parked. */
    @ChannelHandler.Sharable
    private final class ManagementHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            long rev = release();
            ByteBuf body = Unpooled.copiedBuffer("{\"item\":{\"id\":\"default\",\"revision\":" + rev + "}}", StandardCharsets.UTF_8);
            ctx.writeAndFlush(ok(body));
        }
    }
}
