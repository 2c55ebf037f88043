package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.Bootstrap;
import io.netty.handler.ssl.SslContext;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContentDecompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * One simulated Elastic Agent 9.6 on one kept-alive connection: enroll, then a checkin loop (first checkin gets
 * POLICY_CHANGE, which is acked; later checkins report {@code agent_policy_id} + {@code policy_revision_idx} and
 * so park). Speaks like the real agent: request targets end in {@code ?}, its headers, gzip checkin bodies,
 * {@code Accept-Encoding: gzip} (unless the generator is told not to ask for it). Honours {@code 429}/{@code 503} with {@code Retry-After}, backs off
 * exponentially on other failures and reconnects when the server closes the connection.
 *
 * <p>With several servers (the agent's {@code fleet.hosts}) it fails over as the agent's client does: only a
 * transport error (the connection refused, or closed with a request unanswered) moves it to the next server, at once
 * while there is one it has not tried since its last answer, with the backoff once it has tried them all; any HTTP
 * answer, whatever its status, keeps it where it is.
 *
 * <p>Not a thread: all state lives on one event loop ({@link #loop}), and is touched only there, except
 * {@link #revision} / {@link #revisionNanos}, which the generator reads to measure fan-out.
 */
final class AgentSimulator extends SimpleChannelInboundHandler<FullHttpResponse> {
    static final String USER_AGENT = "Elastic Agent v9.6.0";
    private static final AsciiString KBN_XSRF = AsciiString.cached("kbn-xsrf");
    private static final AsciiString X_REQUEST_ID = AsciiString.cached("X-Request-ID");
    private static final AsciiString ELASTIC_API_VERSION = AsciiString.cached("Elastic-Api-Version");
    private static final AsciiString API_VERSION = AsciiString.cached("2023-06-01");
    private static final AsciiString UA = AsciiString.cached(USER_AGENT);
    private static final long REQUEST_TIMEOUT_SECONDS = 60;
    /**
     * An artifact download may take longer: when thousands of agents fetch one at once they share the bandwidth and
     * finish late together; a shorter limit would make them all start again and never finish.
     */
    private static final long ARTIFACT_TIMEOUT_SECONDS = 600;
    private static final long BACKOFF_MIN_MILLIS = 1_000;
    private static final long BACKOFF_MAX_MILLIS = 30_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private enum Step { ENROLL, CHECKIN, ARTIFACT, ACK }

    private final int index;
    private final LoadGenerator gen;
    private final EventLoop loop;
    /** The servers in the order this agent tries them; the first is its home. */
    private final List<InetSocketAddress> servers;
    private final InetSocketAddress source;
    private final List<AsciiString> hosts;
    /** Index into {@link #servers} of the server in use. */
    private int current;
    /** Transport errors since the last answer: while below the number of servers, the next one is tried at once. */
    private int transportErrors;
    /** A request was written and its answer has not arrived. */
    private boolean awaitingAnswer;

    private Channel channel;
    private Step step = Step.ENROLL;
    private long sentNanos;
    /** When the first bytes of the answer to the request in flight were read; 0 before. */
    private long firstByteNanos;
    private ScheduledFuture<?> requestTimeout;
    private int failures;
    private boolean stopped;
    private boolean everParked;
    private boolean parked;
    private boolean retryPending;

    /** Volatile: the generator lists the ids of all agents for the runner (action fan-out targets them). */
    private volatile String agentId;
    private AsciiString authorization;
    private String ackToken = "";
    private String policyId = "";
    private List<String> toAck = List.of();
    volatile long revision;
    volatile long revisionNanos;
    /** The artifact a new policy lists that this agent has not fetched yet ({@code GET} target), or null. */
    private String artifactTarget;
    private String artifactSha = "";
    private long artifactSize;
    /** Bytes of the artifact answer counted so far (its body is counted and dropped, not aggregated). */
    private long artifactReceived;
    /** The {@code decoded_sha256} of the last artifact this agent fetched, and when it had all of it (artifact storm). */
    volatile String artifactKey = "";
    volatile long artifactNanos;
    /** The id of the last action other than POLICY_CHANGE this agent received, and when (for action fan-out). */
    volatile String actionId = "";
    volatile long actionNanos;

    /** @param servers the servers in the order this agent tries them (its home first); at least one */
    AgentSimulator(int index, LoadGenerator gen, EventLoop loop, List<InetSocketAddress> servers, InetSocketAddress source) {
        this.index = index;
        this.gen = gen;
        this.loop = loop;
        this.servers = List.copyOf(servers);
        this.source = source;
        this.hosts = servers.stream().map(s -> AsciiString.cached(s.getHostString() + ":" + s.getPort())).toList();
    }

    /**
     * Starts this agent as already enrolled (credentials made by the runner's Elasticsearch seeding): its first
     * request is a checkin. Before {@link #start()}.
     */
    void enrolledAs(String id, String encodedApiKey) {
        agentId = id;
        authorization = AsciiString.cached("ApiKey " + encodedApiKey);
        step = Step.CHECKIN;
    }

    /** Connects and enrolls (or checks in, when {@link #enrolledAs}). Any thread. */
    void start() {
        loop.execute(this::connect);
    }

    /** Closes the connection and stops retrying. Any thread. */
    void stop() {
        loop.execute(() -> {
            stopped = true;
            setParked(false);
            if (channel != null) {
                channel.close();
            }
        });
    }

    String agentId() {
        return agentId;
    }

    boolean everParked() {
        return everParked;
    }

    private void connect() {
        if (stopped) {
            return;
        }
        Bootstrap b = new Bootstrap().group(loop).channel(gen.channelType())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SslContext tls = gen.tls();
                        if (tls != null) {
                            // A peer name per agent keys this agent's own session in the client's cache, as each
                            // real agent has its own; without one no session is kept and every handshake is full.
                            io.netty.handler.ssl.SslHandler handler = gen.tlsResume()
                                    ? tls.newHandler(ch.alloc(), "agent-" + index + ".bench", servers.get(current).getPort())
                                    : tls.newHandler(ch.alloc());
                            // As long as a request may take, not Netty's 10 s: in a storm a 10-s client timeout
                            // abandons handshakes the server is about to finish and starts them over, which would
                            // measure the simulator's impatience rather than the server.
                            handler.setHandshakeTimeoutMillis(TimeUnit.SECONDS.toMillis(REQUEST_TIMEOUT_SECONDS));
                            ch.pipeline().addLast(handler);
                        }
                        ch.pipeline().addLast(new FirstByte(), new HttpClientCodec(4096, 8192, 8192),
                                new MultiMemberDecompressor(), new ArtifactCounter(), new HttpObjectAggregator(4 << 20),
                                AgentSimulator.this);
                    }
                });
        ChannelFuture f = b.connect(servers.get(current), source);
        channel = f.channel();
        f.addListener(done -> {
            if (!done.isSuccess()) {
                gen.connectFailed();
                transportError();
                return;
            }
            gen.connected(1);
            sendCurrentStep();
        });
    }

    @Override
    public boolean isSharable() {
        // One instance per agent, re-added to each new connection of that agent (never two at once).
        return true;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        gen.connected(-1);
        cancelTimeout();
        setParked(false);
        if (!stopped && ctx.channel() == channel) {
            gen.reconnect();
            // The request in flight (a parked checkin, usually) is sent again on the new connection.
            if (awaitingAnswer) {
                awaitingAnswer = false;
                transportError();
            } else {
                retryLater(null);
            }
        }
    }

    /**
     * The server in use failed us without an answer: the next server, at once while one is left untried since the
     * last answer, else with the backoff (the agent's client does the same with its hosts).
     */
    private void transportError() {
        transportErrors++;
        if (servers.size() > 1) {
            current = (current + 1) % servers.size();
            gen.failover();
            if (transportErrors < servers.size()) {
                sendLater(0);
                return;
            }
        }
        retryLater(null);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        gen.error("io", cause.toString());
        ctx.close();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
        long now = System.nanoTime();
        cancelTimeout();
        setParked(false);
        awaitingAnswer = false;
        transportErrors = 0;
        int status = res.status().code();
        gen.answer(step.name(), status, res.headers().contains(HttpHeaderNames.RETRY_AFTER));
        if (!HttpUtil.isKeepAlive(res)) {
            // As the agent's Go http.Transport: an answer with "Connection: close" ends this connection, and the next
            // request opens a new one. Writing it here instead would race the server's close and be reset.
            channel = null;
            ctx.close();
            gen.reconnect();
        }
        if (status != 200) {
            gen.error("http" + status, step + " " + res.content().toString(StandardCharsets.UTF_8));
            if (status == 429 || status == 503) {
                gen.throttled();
                retryLater(retryAfter(res.headers()));
            } else {
                retryLater(null);
            }
            return;
        }
        failures = 0;
        if (step == Step.ARTIFACT) {
            // As Elastic Defend: the artifact first, then the policy is applied and acked.
            if (artifactReceived != artifactSize) {
                gen.error("artifact", "got " + artifactReceived + " bytes of " + artifactSize);
            }
            artifactKey = artifactSha;
            artifactNanos = now;
            artifactTarget = null;
            step = Step.ACK;
            sendCurrentStep();
            return;
        }
        JsonNode body;
        try (var in = new ByteBufInputStream(res.content().duplicate())) {
            body = step == Step.CHECKIN ? checkinFields(in) : JSON.readTree(in);
        } catch (IOException e) {
            gen.error("json", e.toString());
            retryLater(null);
            return;
        }
        switch (step) {
            case ENROLL -> onEnrolled(body, now);
            case CHECKIN -> onCheckin(body, now);
            case ACK -> {
                gen.ackLatency(now - sentNanos, now, toAck.size());
                for (String id : toAck) {
                    gen.journal("ack " + agentId + " " + id);
                }
                step = Step.CHECKIN;
                sendCurrentStep();
            }
            default -> throw new IllegalStateException(step.toString());
        }
    }

    /**
     * The parts of a checkin answer this simulator reads ({@code ack_token}; each action's {@code id}, {@code type}
     * and its policy's {@code id}, {@code revision} and inputs' {@code artifact_manifest}), taken while streaming
     * through it: a real-sized policy (hundreds of KB) is tokenised, never built into a tree, so that the clients of
     * a fan-out spend their CPU reading answers, not modelling them.
     */
    static JsonNode checkinFields(java.io.InputStream in) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        try (com.fasterxml.jackson.core.JsonParser p = JSON.getFactory().createParser(in)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                throw new IOException("a checkin answer is a JSON object");
            }
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (field.equals("ack_token")) {
                    out.put("ack_token", p.getValueAsString(""));
                } else if (field.equals("actions") && p.currentToken() == com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
                    var actions = out.putArray("actions");
                    while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                        actions.add(actionFields(p));
                    }
                } else {
                    p.skipChildren();
                }
            }
        }
        return out;
    }

    private static ObjectNode actionFields(com.fasterxml.jackson.core.JsonParser p) throws IOException {
        ObjectNode action = JSON.createObjectNode();
        while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if ((field.equals("id") || field.equals("type")) && p.currentToken().isScalarValue()) {
                action.put(field, p.getValueAsString());
            } else if (field.equals("data") && p.currentToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                ObjectNode data = action.putObject("data");
                while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    if (name.equals("policy") && p.currentToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                        data.set("policy", policyFields(p));
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
        return action;
    }

    private static ObjectNode policyFields(com.fasterxml.jackson.core.JsonParser p) throws IOException {
        ObjectNode policy = JSON.createObjectNode();
        while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            if (field.equals("id") && p.currentToken().isScalarValue()) {
                policy.put("id", p.getValueAsString());
            } else if (field.equals("revision") && p.currentToken().isNumeric()) {
                policy.put("revision", p.getLongValue());
            } else if (field.equals("inputs") && p.currentToken() == com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
                var inputs = policy.putArray("inputs");
                while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                    ObjectNode input = inputs.addObject();
                    while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        p.nextToken();
                        if (name.equals("artifact_manifest")) {
                            input.set("artifact_manifest", p.readValueAsTree());
                        } else {
                            p.skipChildren();
                        }
                    }
                }
            } else {
                p.skipChildren();
            }
        }
        return policy;
    }

    private void onEnrolled(JsonNode body, long now) {
        JsonNode item = body.path("item");
        agentId = item.path("id").asText();
        authorization = AsciiString.cached("ApiKey " + item.path("access_api_key").asText());
        gen.enrolled(now - sentNanos, now);
        gen.journal("enroll " + agentId);
        if (gen.enrollOnly()) {
            // Enroll-throughput mode: this agent is done; its slot goes to the next one.
            stopped = true;
            if (channel != null) {
                channel.close();
            }
            gen.enrollOnlyDone();
            return;
        }
        step = Step.CHECKIN;
        sendCurrentStep();
    }

    private void onCheckin(JsonNode body, long now) {
        String token = body.path("ack_token").asText("");
        if (!token.isEmpty()) {
            ackToken = token;
        }
        List<String> ids = new ArrayList<>();
        boolean newPolicy = false;
        for (JsonNode action : body.path("actions")) {
            String id = action.path("id").asText();
            ids.add(id);
            if (!"POLICY_CHANGE".equals(action.path("type").asText())) {
                if (!id.equals(actionId)) {
                    actionNanos = firstByteNanos != 0 ? firstByteNanos : now;
                    actionId = id;
                }
            } else {
                JsonNode policy = action.path("data").path("policy");
                long rev = policy.path("revision").asLong();
                if (rev > revision) {
                    policyId = policy.path("id").asText();
                    // Receipt is when the answer's first bytes were read, before this loop spent time decoding it.
                    revisionNanos = firstByteNanos != 0 ? firstByteNanos : now;
                    revision = rev;
                    newPolicy = true;
                    listedArtifact(policy);
                }
            }
        }
        if (ids.isEmpty()) {
            // The long poll ran out with nothing new: check in again, as the agent does.
            gen.pollExpired();
            sendCurrentStep();
            return;
        }
        gen.checkinLatency(now - sentNanos);
        toAck = ids;
        if (artifactTarget != null) {
            step = Step.ARTIFACT;
            sendCurrentStep();
            return;
        }
        step = Step.ACK;
        long apply = gen.applyMillis();
        if (newPolicy && apply > 0) {
            // The agent acks a policy once it has applied it (reconfiguring its components), not at once.
            sendLater(apply / 2 + ThreadLocalRandom.current().nextLong(apply + 1));
        } else {
            sendCurrentStep();
        }
    }

    /** The first artifact the policy's inputs list ({@code artifact_manifest}), unless this agent has it already. */
    private void listedArtifact(JsonNode policy) {
        for (JsonNode input : policy.path("inputs")) {
            var it = input.path("artifact_manifest").path("artifacts").fields();
            if (it.hasNext()) {
                var e = it.next();
                String sha = e.getValue().path("decoded_sha256").asText();
                if (!sha.equals(artifactKey)) {
                    artifactSha = sha;
                    artifactSize = e.getValue().path("encoded_size").asLong();
                    artifactTarget = "/api/fleet/artifacts/" + e.getKey() + "/" + sha + "?";
                }
                return;
            }
        }
    }

    private void sendCurrentStep() {
        if (stopped) {
            return;
        }
        if (channel == null || !channel.isActive()) {
            connect();
            return;
        }
        FullHttpRequest req = switch (step) {
            case ENROLL -> request("/api/fleet/agents/enroll?", enrollBody(), false);
            case CHECKIN -> request("/api/fleet/agents/" + agentId + "/checkin?", gzip(checkinBody()), true);
            case ARTIFACT -> get(artifactTarget);
            case ACK -> request("/api/fleet/agents/" + agentId + "/acks?", ackBody(), false);
        };
        sentNanos = System.nanoTime();
        firstByteNanos = 0;
        artifactReceived = 0;
        if (step == Step.ENROLL) {
            gen.enrollSent(sentNanos);
        } else if (step == Step.ACK) {
            gen.ackSent(sentNanos);
        }
        boolean parks = step == Step.CHECKIN && revision > 0;
        Channel ch = channel;
        if (!parks) {
            requestTimeout = loop.schedule(() -> {
                gen.error("timeout", step.toString());
                ch.close();
            }, step == Step.ARTIFACT ? ARTIFACT_TIMEOUT_SECONDS : REQUEST_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        awaitingAnswer = true;
        ch.writeAndFlush(req).addListener(f -> {
            if (f.isSuccess() && parks) {
                setParked(true);
            }
        });
    }

    private FullHttpRequest get(String uri) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri, Unpooled.EMPTY_BUFFER);
        HttpHeaders h = req.headers();
        h.set(HttpHeaderNames.HOST, hosts.get(current));
        h.set(HttpHeaderNames.USER_AGENT, UA);
        if (gen.acceptsGzip()) {
            h.set(HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderValues.GZIP);
        }
        h.set(HttpHeaderNames.AUTHORIZATION, authorization);
        return req;
    }

    private FullHttpRequest request(String uri, byte[] body, boolean gzip) {
        ByteBuf content = Unpooled.wrappedBuffer(body);
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri, content);
        HttpHeaders h = req.headers();
        h.set(HttpHeaderNames.HOST, hosts.get(current));
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        h.set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON);
        h.set(KBN_XSRF, "1");
        ThreadLocalRandom r = ThreadLocalRandom.current();
        // A version-4 UUID like the agent's, without SecureRandom's lock on the event loop.
        h.set(X_REQUEST_ID, new UUID((r.nextLong() & ~0xf000L) | 0x4000L,
                (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L).toString());
        h.set(ELASTIC_API_VERSION, API_VERSION);
        h.set(HttpHeaderNames.USER_AGENT, UA);
        if (gen.acceptsGzip()) {
            h.set(HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderValues.GZIP);
        }
        if (step == Step.ENROLL) {
            h.set(HttpHeaderNames.AUTHORIZATION, gen.enrollAuthorization());
        } else {
            h.set(HttpHeaderNames.AUTHORIZATION, authorization);
        }
        if (gzip) {
            h.set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
        }
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return req;
    }

    private byte[] enrollBody() {
        ObjectNode body = JSON.createObjectNode();
        body.put("type", "PERMANENT");
        body.put("id", "");
        body.put("replace_token", "");
        ObjectNode meta = body.putObject("metadata");
        ObjectNode local = meta.putObject("local");
        local.putObject("elastic").putObject("agent").put("id", "bench-" + gen.id() + "-" + index).put("version", "9.6.0");
        local.putObject("host").put("hostname", "bench-host-" + gen.id() + "-" + index);
        meta.putObject("user_provided");
        meta.putNull("tags");
        return bytes(body);
    }

    private byte[] checkinBody() {
        ObjectNode body = JSON.createObjectNode();
        body.put("status", "online");
        body.put("ack_token", ackToken);
        ObjectNode local = body.putObject("local_metadata");
        local.putObject("elastic").putObject("agent").put("id", "bench-" + gen.id() + "-" + index).put("version", "9.6.0");
        local.putObject("host").put("hostname", "bench-host-" + gen.id() + "-" + index);
        body.put("message", "Running");
        body.putArray("components");
        body.putObject("upgrade");
        if (revision > 0) {
            body.put("agent_policy_id", policyId);
            body.put("policy_revision_idx", revision);
        }
        return bytes(body);
    }

    private byte[] ackBody() {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode events = body.putArray("events");
        for (String id : toAck) {
            ObjectNode e = events.addObject();
            e.put("action_id", id);
            e.put("agent_id", agentId);
            e.put("message", "Action \"" + id + "\" acknowledged.");
            e.put("subtype", "ACKNOWLEDGED");
            e.put("timestamp", java.time.OffsetDateTime.now().toString());
            e.put("type", "ACTION_RESULT");
        }
        return bytes(body);
    }

    private static byte[] bytes(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final byte[] GZIP_HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
    private static final ThreadLocal<Deflater> DEFLATER = ThreadLocal.withInitial(() -> new Deflater(Deflater.DEFAULT_COMPRESSION, true));

    /**
     * Decodes a gzip answer made of several members (RFC 1952 §2.2) whole, as Go's {@code gzip.Reader} does for
     * Elastic Agent; Netty's own decompressor stops after the first member.
     */
    static final class MultiMemberDecompressor extends HttpContentDecompressor {
        @Override
        protected io.netty.channel.embedded.EmbeddedChannel newContentDecoder(String contentEncoding) throws Exception {
            if ("gzip".equalsIgnoreCase(contentEncoding) || "x-gzip".equalsIgnoreCase(contentEncoding)) {
                return new io.netty.channel.embedded.EmbeddedChannel(ctx.channel().id(), ctx.channel().metadata().hasDisconnect(),
                        ctx.channel().config(), new io.netty.handler.codec.compression.JdkZlibDecoder(
                                io.netty.handler.codec.compression.ZlibWrapper.GZIP, true));
            }
            return super.newContentDecoder(contentEncoding);
        }
    }

    /** RFC 1952 gzip of {@code data}, reusing one deflater per event loop (a new one per request costs ~256 KB). */
    static byte[] gzip(byte[] data) {
        Deflater d = DEFLATER.get();
        d.reset();
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 2 + 32);
        out.write(GZIP_HEADER, 0, GZIP_HEADER.length);
        byte[] buf = new byte[512];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        CRC32 crc = new CRC32();
        crc.update(data);
        int c = (int) crc.getValue();
        int n = data.length;
        out.write(new byte[] {(byte) c, (byte) (c >> 8), (byte) (c >> 16), (byte) (c >> 24),
            (byte) n, (byte) (n >> 8), (byte) (n >> 16), (byte) (n >> 24)}, 0, 8);
        return out.toByteArray();
    }

    /** Notes when an answer starts to arrive; first in the pipeline. */
    /**
     * While an artifact is fetched, counts its body and drops it instead of passing it on to be aggregated: thousands
     * of agents of one generator fetching 2 MiB at once would otherwise need gigabytes of heap in the generator.
     */
    private final class ArtifactCounter extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (step == Step.ARTIFACT && msg instanceof io.netty.handler.codec.http.HttpContent c
                    && !(msg instanceof io.netty.handler.codec.http.HttpResponse)) {
                artifactReceived += c.content().readableBytes();
                boolean last = msg instanceof io.netty.handler.codec.http.LastHttpContent;
                c.release();
                if (last) {
                    ctx.fireChannelRead(io.netty.handler.codec.http.LastHttpContent.EMPTY_LAST_CONTENT);
                }
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }

    private final class FirstByte extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (firstByteNanos == 0) {
                firstByteNanos = System.nanoTime();
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Seconds from {@code Retry-After}, or null when absent or not a number of seconds. */
    private static Long retryAfter(HttpHeaders h) {
        String v = h.get(HttpHeaderNames.RETRY_AFTER);
        if (v == null) {
            return null;
        }
        try {
            return Math.max(0, Long.parseLong(v.trim())) * 1000;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Waits {@code millis} (the server's Retry-After) or an exponential backoff with jitter, then resends. */
    private void retryLater(Long millis) {
        if (stopped || retryPending) {
            return;
        }
        long wait;
        if (millis != null) {
            wait = millis;
        } else {
            long base = Math.min(BACKOFF_MAX_MILLIS, BACKOFF_MIN_MILLIS << Math.min(failures, 5));
            wait = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
        }
        failures++;
        sendLater(wait);
    }

    /** Sends the current step after {@code millis}; at most one such wait at a time (it absorbs later retries). */
    private void sendLater(long millis) {
        if (stopped || retryPending) {
            return;
        }
        retryPending = true;
        loop.schedule(() -> {
            retryPending = false;
            sendCurrentStep();
        }, millis, TimeUnit.MILLISECONDS);
    }

    private void cancelTimeout() {
        if (requestTimeout != null) {
            requestTimeout.cancel(false);
            requestTimeout = null;
        }
    }

    private void setParked(boolean value) {
        if (value == parked) {
            return;
        }
        parked = value;
        if (value && !everParked) {
            everParked = true;
            gen.firstParked();
        }
        gen.parked(value ? 1 : -1);
    }
}
