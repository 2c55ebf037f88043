package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * A hostile client of the agent port, for the chaos scenario's memory attack: requests without any API key, bounded
 * in connections and time. Modes:
 * <ul>
 *   <li>{@code bomb}: each connection sends {@code POST /api/fleet/agents/<random id>/checkin} with
 *       {@code Content-Encoding: gzip} and about 20 KB of gzip that inflates to {@code --inflated-bytes} (default just
 *       under the checkin's 20 MiB decompressed limit), waits for the answer, and sends the next on the same
 *       connection (on a new one when the server closed it);</li>
 *   <li>{@code held}: the same request without its last bytes (the inflated body all but complete), then nothing:
 *       the connection is held open; when the server closes it, a new one does the same;</li>
 *   <li>{@code pipeline}: each connection writes {@code --requests} small checkins back to back and never reads.</li>
 * </ul>
 * Stdout: JSON lines, {@code progress} each second and {@code done} ({@code answers} by status, {@code .ra} when a
 * non-2xx answer carried {@code Retry-After}; connections opened, closed by the server, refused; requests and bytes
 * written). It stops after {@code --seconds}, on {@code stop} or at end of stdin.
 */
public final class AttackClient {
    static final String USAGE = """
            java -cp bench.jar dev.fleetserver.bench.AttackClient --target 127.0.0.1:8220 --mode bomb|held|pipeline \\
                [--connections 30] [--seconds 20] [--requests 10000] [--inflated-bytes 20970496] \\
                [--sources 127.0.60.1-127.0.60.8]""";
    /** Bytes of a held request left unsent: the gzip trailer and the end of the deflate stream. */
    private static final int HELD_BACK = 16;

    private final String mode;
    private final InetSocketAddress target;
    private final List<InetAddress> sources;
    private final int requestsPerConnection;
    private final byte[] request;
    private final long endNanos;
    private final EventLoopGroup group;
    private final Class<? extends Channel> channelType;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final ConcurrentHashMap<String, LongAdder> answers = new ConcurrentHashMap<>();
    private final LongAdder opened = new LongAdder();
    private final LongAdder closedByServer = new LongAdder();
    private final LongAdder connectFailures = new LongAdder();
    private final LongAdder requestsWritten = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder writeFailures = new LongAdder();
    private final AtomicInteger connected = new AtomicInteger();
    private final AtomicInteger nextSource = new AtomicInteger();
    private final List<Channel> channels = java.util.Collections.synchronizedList(new ArrayList<>());
    private final long startNanos = System.nanoTime();
    private volatile String stopReason = "";

    private AttackClient(String mode, InetSocketAddress target, List<InetAddress> sources, int requestsPerConnection,
                         byte[] request, long seconds) {
        this.mode = mode;
        this.target = target;
        this.sources = sources;
        this.requestsPerConnection = requestsPerConnection;
        this.request = request;
        this.endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        boolean epoll = Epoll.isAvailable();
        this.group = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv, USAGE, List.of("target", "mode", "connections", "seconds", "requests", "inflated-bytes",
                "sources"));
        String t = a.required("target");
        int colon = t.lastIndexOf(':');
        InetSocketAddress target = new InetSocketAddress(t.substring(0, colon), Integer.parseInt(t.substring(colon + 1)));
        String mode = a.get("mode", "bomb");
        if (!List.of("bomb", "held", "pipeline").contains(mode)) {
            System.err.println("--mode is bomb, held or pipeline");
            System.exit(2);
        }
        String host = target.getHostString() + ":" + target.getPort();
        byte[] request = mode.equals("pipeline")
                ? smallCheckin(host)
                : bombCheckin(host, a.integer("inflated-bytes", 20 * 1024 * 1024 - 1024));
        int connections = Math.min(a.integer("connections", 30), 5000);
        long seconds = Math.min(a.longValue("seconds", 20), 600);
        AttackClient c = new AttackClient(mode, target, LoadGenerator.sourceRange(a.get("sources", "127.0.60.1-127.0.60.8")),
                Math.min(a.integer("requests", 10_000), 100_000), request, seconds);
        c.run(connections);
        System.exit(0);
    }

    /**
     * A checkin without credentials whose gzip body inflates to {@code inflated} bytes of valid JSON (one long
     * {@code message}), as raw HTTP/1.1 bytes.
     */
    static byte[] bombCheckin(String host, int inflated) throws IOException {
        String prefix = "{\"status\":\"online\",\"message\":\"";
        String suffix = "\"}";
        ByteArrayOutputStream gz = new ByteArrayOutputStream(32 * 1024);
        try (OutputStream out = new GZIPOutputStream(gz, 64 * 1024) {
            {
                def.setLevel(Deflater.BEST_COMPRESSION);
            }
        }) {
            out.write(prefix.getBytes(StandardCharsets.US_ASCII));
            byte[] fill = new byte[64 * 1024];
            java.util.Arrays.fill(fill, (byte) 'a');
            long left = inflated - prefix.length() - suffix.length();
            while (left > 0) {
                int n = (int) Math.min(fill.length, left);
                out.write(fill, 0, n);
                left -= n;
            }
            out.write(suffix.getBytes(StandardCharsets.US_ASCII));
        }
        return withHead(host, gz.toByteArray(), true);
    }

    /** A checkin without credentials with a tiny gzip body. */
    static byte[] smallCheckin(String host) {
        return withHead(host, AgentSimulator.gzip("{\"status\":\"online\"}".getBytes(StandardCharsets.US_ASCII)), true);
    }

    private static byte[] withHead(String host, byte[] body, boolean gzip) {
        String head = "POST /api/fleet/agents/" + UUID.randomUUID() + "/checkin? HTTP/1.1\r\n"
                + "Host: " + host + "\r\n"
                + "User-Agent: " + AgentSimulator.USER_AGENT + "\r\n"
                + "Content-Type: application/json\r\n"
                + (gzip ? "Content-Encoding: gzip\r\n" : "")
                + "Content-Length: " + body.length + "\r\n\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[h.length + body.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return all;
    }

    private void run(int connections) throws InterruptedException {
        ObjectNode start = event("start");
        start.put("mode", mode);
        start.put("connections", connections);
        start.put("requestBytes", request.length);
        print(start);
        Thread stdin = new Thread(() -> {
            try {
                java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
                String line;
                while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
                    // Only "stop" means something.
                }
            } catch (IOException e) {
                // Stdin gone.
            }
            stop("stdin");
        }, "attack-stdin");
        stdin.setDaemon(true);
        stdin.start();
        group.scheduleAtFixedRate(() -> print(progress("progress")), 1, 1, TimeUnit.SECONDS);
        group.schedule(() -> stop("seconds"), endNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        for (int i = 0; i < connections; i++) {
            group.execute(this::open);
        }
        if (!finished.await(endNanos - System.nanoTime() + TimeUnit.SECONDS.toNanos(30), TimeUnit.NANOSECONDS)) {
            stop("hard deadline");
        }
        // Here, not on the event loop that asked to stop: it cannot wait for its own termination.
        try {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ObjectNode done = progress("done");
        done.put("reason", stopReason);
        print(done);
    }

    private void open() {
        if (stopping.get() || System.nanoTime() - endNanos > 0) {
            return;
        }
        boolean pipeline = mode.equals("pipeline");
        Bootstrap b = new Bootstrap().group(group).channel(channelType)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.AUTO_READ, !pipeline)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpResponseDecoder(), new HttpObjectAggregator(1 << 20), new Answers());
                    }
                });
        InetAddress source = sources.get(Math.floorMod(nextSource.getAndIncrement(), sources.size()));
        ChannelFuture f = b.connect(target, new InetSocketAddress(source, 0));
        f.addListener(done -> {
            if (!done.isSuccess()) {
                connectFailures.increment();
                group.schedule(this::open, 200, TimeUnit.MILLISECONDS);
                return;
            }
            Channel ch = f.channel();
            opened.increment();
            connected.incrementAndGet();
            channels.add(ch);
            ch.closeFuture().addListener(c -> {
                connected.decrementAndGet();
                channels.remove(ch);
                if (!stopping.get()) {
                    closedByServer.increment();
                    // Keep the pressure on: a new connection does the same (bounded by --seconds).
                    group.schedule(this::open, 100, TimeUnit.MILLISECONDS);
                }
            });
            switch (mode) {
                case "bomb" -> send(ch, request.length);
                case "held" -> send(ch, request.length - HELD_BACK);
                default -> pipeline(ch, requestsPerConnection);
            }
        });
    }

    private void send(Channel ch, int length) {
        if (stopping.get() || !ch.isActive()) {
            return;
        }
        requestsWritten.increment();
        bytesWritten.add(length);
        ch.writeAndFlush(Unpooled.wrappedBuffer(request, 0, length));
    }

    /** Writes {@code left} requests while the socket takes them; never reads. */
    private void pipeline(Channel ch, int left) {
        int n = left;
        while (n > 0 && ch.isActive() && ch.isWritable() && !stopping.get()) {
            ByteBuf batch = Unpooled.buffer(request.length * 64);
            int k = Math.min(64, n);
            for (int i = 0; i < k; i++) {
                batch.writeBytes(request);
            }
            n -= k;
            requestsWritten.add(k);
            bytesWritten.add((long) k * request.length);
            ch.writeAndFlush(batch).addListener(w -> {
                if (!w.isSuccess()) {
                    // Never reading, this client learns of a server's close only when a write fails.
                    writeFailures.increment();
                    ch.close();
                }
            });
        }
        if (n > 0 && ch.isActive() && !stopping.get()) {
            int rest = n;
            ch.eventLoop().schedule(() -> pipeline(ch, rest), 10, TimeUnit.MILLISECONDS);
        }
    }

    /** Counts answers (bomb and held modes) and sends the next bomb on the same connection. */
    private final class Answers extends SimpleChannelInboundHandler<FullHttpResponse> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
            int status = res.status().code();
            boolean retryAfter = res.headers().contains(HttpHeaderNames.RETRY_AFTER);
            String key = status + (retryAfter && status >= 300 ? ".ra" : "");
            answers.computeIfAbsent(key, k -> new LongAdder()).increment();
            if (!HttpUtil.isKeepAlive(res)) {
                ctx.close();
            } else if (mode.equals("bomb")) {
                send(ctx.channel(), request.length);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Closes every connection and lets the main thread finish. Any thread; idempotent. */
    private void stop(String why) {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        stopReason = why;
        List<Channel> open;
        synchronized (channels) {
            open = new ArrayList<>(channels);
        }
        open.forEach(Channel::close);
        finished.countDown();
    }

    private ObjectNode progress(String kind) {
        ObjectNode e = event(kind);
        e.put("connected", connected.get());
        e.put("opened", opened.sum());
        e.put("closedByServer", closedByServer.sum());
        e.put("connectFailures", connectFailures.sum());
        e.put("requestsWritten", requestsWritten.sum());
        e.put("bytesWritten", bytesWritten.sum());
        e.put("writeFailures", writeFailures.sum());
        ObjectNode a = e.putObject("answers");
        answers.forEach((k, v) -> a.put(k, v.sum()));
        return e;
    }

    private ObjectNode event(String kind) {
        ObjectNode e = EventLines.event(kind, startNanos);
        e.put("mode", mode);
        return e;
    }

    private static void print(ObjectNode e) {
        EventLines.print(e);
    }
}
