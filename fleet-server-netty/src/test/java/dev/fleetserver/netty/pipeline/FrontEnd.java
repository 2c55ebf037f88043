package dev.fleetserver.netty.pipeline;

import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.RouteLimitConfig;
import dev.fleetserver.netty.config.TimeoutsConfig;
import dev.fleetserver.netty.http.BodyConsumer;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.http.Routes;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.limit.ResolvedLimits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The real agent-listener pipeline on {@link EmbeddedChannel}s with frozen time, in front of a small route table
 * instead of core: {@code GET /api/status} answers at once, {@code POST .../checkin} reads its body and parks (the
 * exchange is kept until the test answers it), {@code POST /api/fleet/agents/enroll} answers with the decoded body's
 * length, {@code POST .../acks} waits (in {@link #waiting}) without reading its body, as a route does while it
 * authenticates. {@link #probe} runs on every decoded piece of a body, while the piece is alive.
 */
final class FrontEnd {
    final List<Exchange> parked = new ArrayList<>();
    final List<Exchange> waiting = new ArrayList<>();
    final BodyBudget budget;
    Runnable probe = () -> { };
    final FleetChannelInitializer initializer;

    FrontEnd(LimitsConfig limits, Duration readHeader, Duration read, Duration write, Duration idle) {
        this(limits, readHeader, read, write, idle, 0, 0);
    }

    /** With answers gzipped at {@code compressionLevel} (0: never) above {@code compressionThreshold} bytes. */
    FrontEnd(LimitsConfig limits, Duration readHeader, Duration read, Duration write, Duration idle, int compressionLevel,
             int compressionThreshold) {
        this(limits, readHeader, read, write, idle, compressionLevel, compressionThreshold, new BodyBudget(1L << 30));
    }

    /** With its own body budget. */
    FrontEnd(LimitsConfig limits, BodyBudget budget) {
        this(limits, Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofMinutes(10), Duration.ofSeconds(35), 0, 0, budget);
    }

    FrontEnd(LimitsConfig limits, Duration readHeader, Duration read, Duration write, Duration idle, int compressionLevel,
             int compressionThreshold, BodyBudget budget) {
        this.budget = budget;
        Routes routes = new Routes()
                .add(HttpMethod.GET, "/api/status", BodyLimits.DEFAULT,
                        ex -> ex.respond(HttpResponseStatus.OK, "application/json", "{\"status\":\"HEALTHY\"}".getBytes(StandardCharsets.UTF_8)))
                .add(HttpMethod.POST, "/api/fleet/agents/enroll", BodyLimits.ENROLL, ex -> ex.readBody(new Counting(), RuntimeException::new)
                        .whenComplete((length, t) -> {
                            if (t != null) {
                                ex.fail(t);
                            } else {
                                ex.respond(HttpResponseStatus.OK, "text/plain", String.valueOf(length).getBytes(StandardCharsets.UTF_8));
                            }
                        }))
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/acks", BodyLimits.ACKS, waiting::add)
                .add(HttpMethod.POST, "/api/fleet/agents/{id}/checkin", BodyLimits.CHECKIN, ex -> {
                    ex.releaseRequest();
                    ex.readBody(new Counting(), RuntimeException::new).whenComplete((length, t) -> {
                        if (t != null) {
                            ex.fail(t);
                        } else {
                            parked.add(ex);
                        }
                    });
                });
        initializer = new FleetChannelInitializer(routes, new ListenerSettings(true, 8192,
                TimeoutsConfig.defaults().withConnectionTimeouts(readHeader, read, write, idle), compressionLevel,
                compressionThreshold, ResolvedLimits.resolve(limits, 1L << 40), budget));
    }

    /** Counts a body's decoded bytes, holding none of them. */
    private final class Counting implements BodyConsumer<Long> {
        private long length;

        @Override
        public void accept(ByteBuf piece) {
            length += piece.readableBytes();
            probe.run();
        }

        @Override
        public Long finish() {
            return length;
        }

        @Override
        public long retainedBytes() {
            return 0;
        }
    }

    FrontEnd(LimitsConfig limits) {
        this(limits, Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofMinutes(10), Duration.ofSeconds(35));
    }

    /** Code-default limits (max_agents -1) with some routes and max_connections set as in a file. */
    static LimitsConfig limits(int maxConnections, Map<String, RouteLimitConfig> routes) {
        return new LimitsConfig(-1, 8192, maxConnections, new LinkedHashMap<>(routes));
    }

    /** A new connection of this listener, time frozen. */
    Connection connect() throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel(false, false, initializer);
        ch.freezeTime();
        ch.register();
        return new Connection(ch);
    }

    /** One client connection: raw bytes in, parsed responses out. */
    static final class Connection {
        final EmbeddedChannel server;
        private final EmbeddedChannel client = new EmbeddedChannel(new HttpResponseDecoder(), new HttpObjectAggregator(1 << 24));

        Connection(EmbeddedChannel server) {
            this.server = server;
        }

        Connection send(String text) {
            return send(text.getBytes(StandardCharsets.ISO_8859_1));
        }

        Connection send(byte[] bytes) {
            if (server.isOpen()) {
                server.writeInbound(Unpooled.wrappedBuffer(bytes));
            }
            return this;
        }

        /** Every complete response written so far. */
        List<FullHttpResponse> responses() {
            for (Object o = server.readOutbound(); o != null; o = server.readOutbound()) {
                client.writeInbound(o instanceof ByteBuf b ? b : Unpooled.EMPTY_BUFFER);
            }
            List<FullHttpResponse> out = new ArrayList<>();
            for (Object o = client.readInbound(); o != null; o = client.readInbound()) {
                out.add((FullHttpResponse) o);
            }
            return out;
        }

        void advance(Duration d) {
            server.advanceTimeBy(d.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
            server.runScheduledPendingTasks();
            server.runPendingTasks();
        }

        boolean open() {
            return server.isOpen();
        }
    }

    static String request(String method, String target, Map<String, String> headers, byte[] body) {
        StringBuilder b = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: fleet\r\n");
        headers.forEach((k, v) -> b.append(k).append(": ").append(v).append("\r\n"));
        if (body != null) {
            b.append("Content-Length: ").append(body.length).append("\r\n");
        }
        b.append("\r\n");
        if (body != null) {
            b.append(new String(body, StandardCharsets.ISO_8859_1));
        }
        return b.toString();
    }

    static String get(String target) {
        return request("GET", target, Map.of(), null);
    }

    static String checkin(String agent) {
        return request("POST", "/api/fleet/agents/" + agent + "/checkin?", Map.of(), "{\"status\":\"online\"}".getBytes(StandardCharsets.UTF_8));
    }

    static String body(FullHttpResponse r) {
        return r.content().toString(StandardCharsets.UTF_8);
    }
}
