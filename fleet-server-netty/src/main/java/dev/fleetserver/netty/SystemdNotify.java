package dev.fleetserver.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The systemd notification protocol ({@code sd_notify}): one datagram of {@code KEY=value} lines to the Unix socket
 * named by {@code $NOTIFY_SOCKET}, so a {@code Type=notify} unit is "started" only once the server is ready to serve
 * (listeners bound, store reached and prepared), shows why while it waits, and "stopping" while it drains. Java's own datagram channels cannot reach a Unix
 * socket; Netty's native epoll transport (already ours) can. Without {@code $NOTIFY_SOCKET} (not under systemd) or
 * without the native transport, nothing is sent.
 */
public final class SystemdNotify {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotify.class);
    public static final String ENV = "NOTIFY_SOCKET";

    private SystemdNotify() {
    }

    /** Tells systemd the service is ready; see {@link #send}. */
    public static boolean ready(String status) {
        return send(System.getenv(ENV), "READY=1\nSTATUS=" + status + "\nMAINPID=" + ProcessHandle.current().pid() + "\n");
    }

    /**
     * While the start waits (for Elasticsearch): shows {@code status} in {@code systemctl status} and extends the
     * unit's start timeout by {@code extendBy} from now, so systemd keeps waiting as long as the server keeps
     * trying, and gives up on a server that stopped trying; see {@link #send}.
     */
    public static boolean waiting(String status, java.time.Duration extendBy) {
        return send(System.getenv(ENV), waitingState(status, extendBy));
    }

    static String waitingState(String status, java.time.Duration extendBy) {
        // One line per key: a status (an exception message) spanning lines would end the STATUS= value early.
        return "STATUS=" + status.replace('\n', ' ') + "\nEXTEND_TIMEOUT_USEC="
                + java.util.concurrent.TimeUnit.NANOSECONDS.toMicros(extendBy.toNanos()) + "\n";
    }

    /** Tells systemd the service is shutting down; see {@link #send}. */
    public static boolean stopping() {
        return send(System.getenv(ENV), "STOPPING=1\nSTATUS=draining\n");
    }

    /**
     * Sends {@code state} to the socket {@code socket} ({@code @name} = the abstract namespace). Never throws.
     *
     * @return whether it was sent; false when {@code socket} is null or empty, the native transport is missing, or
     *         the send failed (logged)
     */
    static boolean send(String socket, String state) {
        if (socket == null || socket.isEmpty()) {
            return false;
        }
        if (!Epoll.isAvailable()) {
            LOG.warn("{} is set but Netty's epoll transport is unavailable: systemd is not notified", ENV);
            return false;
        }
        String path = socket.startsWith("@") ? "\0" + socket.substring(1) : socket;
        EventLoopGroup group = new EpollEventLoopGroup(1);
        try {
            Channel ch = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
                    .handler(new ChannelInboundHandlerAdapter()).connect(new DomainSocketAddress(path)).sync().channel();
            ch.writeAndFlush(Unpooled.copiedBuffer(state, StandardCharsets.UTF_8)).sync();
            ch.close().sync();
            return true;
        } catch (Exception e) {
            LOG.warn("could not notify systemd at {}: {}", socket, e.toString());
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return false;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
