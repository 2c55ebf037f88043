package dev.fleetserver.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sd_notify against a stand-in for systemd's notification socket. */
class SystemdNotifyTest {
    @TempDir
    Path dir;

    @Test
    void theStateReachesTheNotifySocketAsOneDatagram() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll transport");
        LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        EventLoopGroup group = new EpollEventLoopGroup(1);
        Path socket = dir.resolve("notify");
        try {
            Channel systemd = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
                    .handler(new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket packet) {
                            received.add(packet.content().toString(StandardCharsets.UTF_8));
                        }
                    }).bind(new DomainSocketAddress(socket.toString())).sync().channel();

            assertThat(SystemdNotify.send(socket.toString(), "READY=1\nSTATUS=ok\n")).isTrue();
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("READY=1\nSTATUS=ok\n");
            systemd.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void anAbstractSocketNameIsReachedToo() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll transport");
        String name = "fleet-server-test-" + java.util.UUID.randomUUID();
        LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        EventLoopGroup group = new EpollEventLoopGroup(1);
        try {
            Channel systemd = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
                    .handler(new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket packet) {
                            received.add(packet.content().toString(StandardCharsets.UTF_8));
                        }
                    }).bind(new DomainSocketAddress("\0" + name)).sync().channel();

            assertThat(SystemdNotify.send("@" + name, "STOPPING=1\n")).isTrue();
            assertThat(received.poll(10, TimeUnit.SECONDS)).isEqualTo("STOPPING=1\n");
            systemd.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void withoutNotifySocketNothingIsSent() {
        assertThat(SystemdNotify.send(null, "READY=1\n")).isFalse();
        assertThat(SystemdNotify.send("", "READY=1\n")).isFalse();
    }

    @Test
    void aSocketNobodyListensOnIsReportedNotThrown() {
        Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll transport");
        assertThat(SystemdNotify.send(dir.resolve("nobody").toString(), "READY=1\n")).isFalse();
    }

    @Test
    void whileWaitingTheStatusSaysWhyAndTheStartTimeoutIsExtended() {
        assertThat(SystemdNotify.waitingState("waiting for Elasticsearch: Connection\nrefused", java.time.Duration.ofSeconds(150)))
                .isEqualTo("STATUS=waiting for Elasticsearch: Connection refused\nEXTEND_TIMEOUT_USEC=150000000\n");
    }
}
