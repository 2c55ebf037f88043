package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The simulated agent keeps the HTTP rules the real agent's Go client keeps. */
class AgentSimulatorTest {
    /** One request as a server saw it: which connection it came on, its target, and which test server. */
    private record Seen(Channel connection, String uri, String server) {
        Seen(Channel connection, String uri) {
            this(connection, uri, "");
        }
    }

    private final EventLoopGroup serverLoops = new NioEventLoopGroup(1);
    private final LinkedBlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
    private final List<Channel> answeredWithClose = new CopyOnWriteArrayList<>();
    private final LoadGenerator generator = new LoadGenerator(0, 1, 60, "none", 1, 0, false);

    @AfterEach
    void stop() {
        generator.stop("test over");
        serverLoops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void afterAnAnswerWithConnectionCloseTheNextRequestGoesOnANewConnection() throws Exception {
        Channel server = new ServerBootstrap().group(serverLoops).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new FirstAnswerCloses());
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        AgentSimulator agent = generator.addAgent((InetSocketAddress) server.localAddress(), new InetSocketAddress("127.0.0.1", 0));
        agent.enrolledAs("agent-1", "a2V5OnNlY3JldA==");

        agent.start();

        Seen first = seen.poll(30, TimeUnit.SECONDS);
        Seen second = seen.poll(30, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        assertThat(second).as("the agent checks in again after the empty answer").isNotNull();
        assertThat(first.uri()).isEqualTo("/api/fleet/agents/agent-1/checkin?");
        assertThat(second.uri()).isEqualTo(first.uri());
        assertThat(second.connection()).as("a new connection").isNotSameAs(first.connection());
        assertThat(answeredWithClose).containsExactly(first.connection());
        server.close().syncUninterruptibly();
    }

    @Test
    void aRefusedConnectionMovesTheAgentToItsNextServerAtOnce() throws Exception {
        InetSocketAddress refused = freeAddress();
        Channel live = server("live", ParkEverything::new);
        AgentSimulator agent = generator.addAgent(List.of(refused, (InetSocketAddress) live.localAddress()),
                new InetSocketAddress("127.0.0.1", 0));
        agent.enrolledAs("agent-1", "a2V5OnNlY3JldA==");

        agent.start();

        Seen first = seen.poll(30, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        assertThat(first.server()).isEqualTo("live");
        live.close().syncUninterruptibly();
    }

    @Test
    void aConnectionClosedWithTheRequestUnansweredMovesTheAgentToItsNextServer() throws Exception {
        Channel dying = server("dying", CloseWithoutAnswer::new);
        Channel live = server("live", ParkEverything::new);
        AgentSimulator agent = generator.addAgent(List.of((InetSocketAddress) dying.localAddress(),
                (InetSocketAddress) live.localAddress()), new InetSocketAddress("127.0.0.1", 0));
        agent.enrolledAs("agent-1", "a2V5OnNlY3JldA==");

        agent.start();

        Seen first = seen.poll(30, TimeUnit.SECONDS);
        Seen second = seen.poll(30, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        assertThat(first.server()).isEqualTo("dying");
        assertThat(second).isNotNull();
        assertThat(second.server()).isEqualTo("live");
        assertThat(second.uri()).isEqualTo(first.uri());
        dying.close().syncUninterruptibly();
        live.close().syncUninterruptibly();
    }

    @Test
    void anErrorAnswerKeepsTheAgentOnItsServer() throws Exception {
        Channel failing = server("failing", FailOnce::new);
        Channel other = server("other", ParkEverything::new);
        AgentSimulator agent = generator.addAgent(List.of((InetSocketAddress) failing.localAddress(),
                (InetSocketAddress) other.localAddress()), new InetSocketAddress("127.0.0.1", 0));
        agent.enrolledAs("agent-1", "a2V5OnNlY3JldA==");

        agent.start();

        Seen first = seen.poll(30, TimeUnit.SECONDS);
        Seen second = seen.poll(30, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        assertThat(second).as("the agent checks in again after the 500, after its backoff").isNotNull();
        assertThat(first.server()).isEqualTo("failing");
        assertThat(second.server()).isEqualTo("failing");
        failing.close().syncUninterruptibly();
        other.close().syncUninterruptibly();
    }

    /** A loopback address nothing listens on. */
    private static InetSocketAddress freeAddress() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
    }

    /** A test server named {@code name} whose connections get a new {@code handler} each. */
    private Channel server(String name, java.util.function.Function<String, SimpleChannelInboundHandler<FullHttpRequest>> handler)
            throws InterruptedException {
        return new ServerBootstrap().group(serverLoops).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), handler.apply(name));
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    /** Records every request and never answers (a parked checkin). */
    private final class ParkEverything extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String name;

        ParkEverything(String name) {
            this.name = name;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            seen.add(new Seen(ctx.channel(), request.uri(), name));
        }
    }

    /** Records the request and closes the connection without answering, as a killed server's socket does. */
    private final class CloseWithoutAnswer extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String name;

        CloseWithoutAnswer(String name) {
            this.name = name;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            seen.add(new Seen(ctx.channel(), request.uri(), name));
            ctx.close();
        }
    }

    /** Answers the first request of each connection 500, and parks the rest. */
    private final class FailOnce extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String name;
        private boolean failed;

        FailOnce(String name) {
            this.name = name;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            seen.add(new Seen(ctx.channel(), request.uri(), name));
            if (failed) {
                return;
            }
            failed = true;
            byte[] body = "{\"statusCode\":500}".getBytes(StandardCharsets.UTF_8);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.INTERNAL_SERVER_ERROR, Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            ctx.writeAndFlush(response);
        }
    }

    /**
     * Answers the first checkin with an empty long-poll answer and {@code Connection: close} without closing at once
     * (the window in which a client that ignored the header would write its next request); parks the rest.
     */
    private final class FirstAnswerCloses extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            seen.add(new Seen(ctx.channel(), request.uri()));
            if (!answeredWithClose.isEmpty()) {
                return;
            }
            answeredWithClose.add(ctx.channel());
            byte[] body = "{\"action\":\"checkin\",\"actions\":[]}".getBytes(StandardCharsets.UTF_8);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response);
        }
    }
    @Test
    void aCheckinAnswerIsReadForWhatTheAgentActsOnWithoutModellingThePolicy() throws Exception {
        String answer = "{\"ack_token\":\"t1\",\"action\":\"checkin\",\"actions\":["
                + "{\"agent_id\":\"a\",\"created_at\":\"x\",\"data\":{\"policy\":{\"id\":\"p\",\"revision\":7,"
                + "\"outputs\":{\"default\":{\"type\":\"elasticsearch\"}},\"inputs\":[{\"id\":\"i1\",\"streams\":[{}]},"
                + "{\"id\":\"i2\",\"artifact_manifest\":{\"artifacts\":{\"a-v1\":{\"decoded_sha256\":\"abc\"}}}}]}},"
                + "\"id\":\"policy:p:7\",\"type\":\"POLICY_CHANGE\"},"
                + "{\"agent_id\":\"a\",\"data\":{\"version\":\"9.0.0\"},\"id\":\"u1\",\"type\":\"UPGRADE\"}]}";
        var body = AgentSimulator.checkinFields(new java.io.ByteArrayInputStream(answer.getBytes(StandardCharsets.UTF_8)));
        assertThat(body.path("ack_token").asText()).isEqualTo("t1");
        assertThat(body.at("/actions/0/id").asText()).isEqualTo("policy:p:7");
        assertThat(body.at("/actions/0/type").asText()).isEqualTo("POLICY_CHANGE");
        assertThat(body.at("/actions/0/data/policy/id").asText()).isEqualTo("p");
        assertThat(body.at("/actions/0/data/policy/revision").asLong()).isEqualTo(7);
        assertThat(body.at("/actions/0/data/policy/inputs/1/artifact_manifest/artifacts/a-v1/decoded_sha256").asText())
                .isEqualTo("abc");
        assertThat(body.at("/actions/0/data/policy").has("outputs")).isFalse();
        assertThat(body.at("/actions/1/id").asText()).isEqualTo("u1");
        assertThat(body.at("/actions/1/type").asText()).isEqualTo("UPGRADE");
    }
}
