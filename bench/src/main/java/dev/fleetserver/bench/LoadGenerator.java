package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.AsciiString;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * A load generator process: {@code --agents} simulated agents ({@link AgentSimulator}) on one Netty client event
 * loop group, each on its own kept-alive connection bound to a source address in 127.0.0.0/8 (so that ephemeral
 * ports do not run out), enrolled with at most {@code --enroll-concurrency} agents between "started" and "first
 * parked checkin".
 *
 * <p>Bounded: it stops by itself after {@code --max-seconds}, on {@code stop} or at end of stdin.
 *
 * <p>Stdout: one JSON object per line ({@code event}: {@code start}, {@code progress} each second, {@code fanout},
 * {@code done}). Stdin commands: {@code fanout <revision> <t0 nanoTime> <timeout millis>} reports, once every agent
 * holds that revision (or at the timeout), a histogram of (receipt time - t0) over the agents; {@code stop}.
 * Times are {@link System#nanoTime()}, which on Linux is {@code CLOCK_MONOTONIC}, shared by all processes of the
 * machine, so the runner's t0 and the agents' receipt times are comparable.
 */
public final class LoadGenerator {
    static final String USAGE = """
            java -cp bench.jar dev.fleetserver.bench.LoadGenerator --targets 127.0.0.1:8220[,host:port...] \\
                --token ENROLLMENT_TOKEN --agents N [--id 0] [--sources 127.0.1.1-127.0.1.8] \\
                [--enroll-concurrency 200] [--max-seconds 600] [--threads 1] [--apply-millis 1000] [--enroll-only false]
                [--credentials FILE]   (agents already enrolled: line i = "<agent id> <encoded API key>" of agent i)
                [--start-every-millis 0] [--journal FILE] [--tls-ca FILE --tls-resume true] [--gzip true]

            Several targets: agent i's home is target i mod n; it fails over to the next target on a transport
            error (connection refused, or closed with a request unanswered), as the agent does with its fleet hosts.
            --start-every-millis N > 0: one new agent every N ms (a steady flow of enrolls) instead of keeping
            --enroll-concurrency agents between start and first park.
            --tls-ca FILE: speak TLS, trusting this CA; --tls-resume false: keep no sessions (every handshake full).
            --gzip false: agents do not send Accept-Encoding: gzip (Elastic Agent does), so answers come uncompressed.
            --journal FILE: one line per request answered 200 that the server must keep: "enroll <agent id>",
            "ack <agent id> <action id>" (one per acked action, POLICY_CHANGE included: policy:<id>:<revision>).

            --apply-millis: an agent acks a new policy after a uniform random 0.5x..1.5x this (the real agent
            applies the policy first); 0 acks at once.
            --enroll-only true: each agent enrolls, closes its connection and makes room for the next (enroll
            throughput); the generator stops once all have enrolled.

            Stdin: fanout <revision> <t0> <timeout ms> | afanout <action id> <t0> <timeout ms> (an action other than
            POLICY_CHANGE) | ids (prints the agents' ids) | window (prints and restarts the ack window) | stop""";
    private static final long HIST_MAX_MICROS = TimeUnit.HOURS.toMicros(1);

    private final int id;
    private final int concurrency;
    private final long applyMillis;
    private final long maxNanos;
    private final AsciiString enrollAuthorization;
    private final EventLoopGroup group;
    private final Class<? extends Channel> channelType;
    private final List<AgentSimulator> agents = new ArrayList<>();
    private final ScheduledExecutorService control = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "generator-control");
        t.setDaemon(true);
        return t;
    });
    private final long startNanos = System.nanoTime();
    private final AtomicInteger nextToStart = new AtomicInteger();
    private final AtomicInteger enrolled = new AtomicInteger();
    private final AtomicInteger everParked = new AtomicInteger();
    private final AtomicInteger parked = new AtomicInteger();
    private final AtomicInteger connected = new AtomicInteger();
    private final LongAdder throttled = new LongAdder();
    private final LongAdder reconnects = new LongAdder();
    private final LongAdder connectFailures = new LongAdder();
    private final LongAdder pollsExpired = new LongAdder();
    private final ConcurrentHashMap<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, String> lastError = new ConcurrentHashMap<>();
    private final Histogram enrollMicros = new ConcurrentHistogram(HIST_MAX_MICROS, 3);
    private final Histogram checkinMicros = new ConcurrentHistogram(HIST_MAX_MICROS, 3);
    private final Histogram ackMicros = new ConcurrentHistogram(HIST_MAX_MICROS, 3);
    private final CountDownLatch finished = new CountDownLatch(1);
    private final boolean enrollOnly;
    private final AtomicInteger enrollOnlyDone = new AtomicInteger();
    /** Enroll window: first enroll sent, last enroll answered (nanoTime); the whole run. */
    private final Window enrolls = new Window();
    /** Ack window: first ack sent, last ack answered, acks (events) answered; restarted by {@code window}. */
    private volatile Window acks = new Window();
    private final AtomicBoolean stopping = new AtomicBoolean();
    /** Answers by {@code <step>.<status>}, with {@code .ra} when a non-200 answer carried {@code Retry-After}. */
    private final ConcurrentHashMap<String, LongAdder> answers = new ConcurrentHashMap<>();
    private final LongAdder failovers = new LongAdder();
    private volatile long startEveryMillis;
    private volatile java.io.Writer journal;
    private io.netty.handler.ssl.SslContext tls;
    private boolean tlsResume = true;
    private boolean acceptsGzip = true;

    LoadGenerator(int id, int concurrency, long maxSeconds, String token, int threads, long applyMillis,
                          boolean enrollOnly) {
        this.id = id;
        this.enrollOnly = enrollOnly;
        this.applyMillis = applyMillis;
        this.concurrency = concurrency;
        this.maxNanos = TimeUnit.SECONDS.toNanos(maxSeconds);
        this.enrollAuthorization = AsciiString.cached("ApiKey " + token);
        boolean epoll = Epoll.isAvailable();
        this.group = epoll ? new EpollEventLoopGroup(threads) : new NioEventLoopGroup(threads);
        this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv, USAGE, List.of("targets", "token", "agents", "id", "sources", "enroll-concurrency",
                "max-seconds", "threads", "apply-millis", "enroll-only", "credentials", "start-every-millis", "journal", "tls-ca", "tls-resume", "gzip"));
        List<InetSocketAddress> targets = new ArrayList<>();
        for (String t : a.required("targets").split(",")) {
            int colon = t.lastIndexOf(':');
            targets.add(new InetSocketAddress(t.substring(0, colon), Integer.parseInt(t.substring(colon + 1))));
        }
        List<InetAddress> sources = sourceRange(a.get("sources", "127.0.1.1-127.0.1.8"));
        int n = a.integer("agents", 1000);
        long maxSeconds = a.longValue("max-seconds", 600);
        LoadGenerator g = new LoadGenerator(a.integer("id", 0), a.integer("enroll-concurrency", 200), maxSeconds,
                a.get("token", "none"), a.integer("threads", 1), a.longValue("apply-millis", 1000),
                Boolean.parseBoolean(a.get("enroll-only", "false")));
        g.startEveryMillis = a.longValue("start-every-millis", 0);
        g.acceptsGzip = Boolean.parseBoolean(a.get("gzip", "true"));
        String ca = a.get("tls-ca", "");
        if (!ca.isEmpty()) {
            g.tls = BenchTls.client(java.nio.file.Path.of(ca));
            g.tlsResume = Boolean.parseBoolean(a.get("tls-resume", "true"));
        }
        String journal = a.get("journal", "");
        if (!journal.isEmpty()) {
            g.journal = java.nio.file.Files.newBufferedWriter(java.nio.file.Path.of(journal), StandardCharsets.UTF_8);
        }
        for (int i = 0; i < n; i++) {
            g.addAgent(failoverOrder(targets, i), new InetSocketAddress(sources.get(i % sources.size()), 0));
        }
        String credentials = a.get("credentials", "");
        if (!credentials.isEmpty()) {
            List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of(credentials));
            for (int i = 0; i < n; i++) {
                String[] f = lines.get(i).trim().split(" ");
                g.agents.get(i).enrolledAs(f[0], f[1]);
            }
        }
        g.run(targets, sources);
        System.exit(0);
    }

    /** The targets in the order agent {@code i} tries them: its home, target i mod n, then the ones after it. */
    static List<InetSocketAddress> failoverOrder(List<InetSocketAddress> targets, int i) {
        List<InetSocketAddress> order = new ArrayList<>(targets.size());
        for (int k = 0; k < targets.size(); k++) {
            order.add(targets.get((i + k) % targets.size()));
        }
        return order;
    }

    /** {@code 127.0.1.1-127.0.1.8}: a range in the last octet; or a single address. */
    static List<InetAddress> sourceRange(String spec) throws UnknownHostException {
        String[] ends = spec.split("-");
        InetAddress first = InetAddress.getByName(ends[0]);
        if (ends.length == 1) {
            return List.of(first);
        }
        byte[] b = first.getAddress();
        int last = Integer.parseInt(ends[1].substring(ends[1].lastIndexOf('.') + 1));
        List<InetAddress> out = new ArrayList<>();
        for (int x = b[3] & 0xff; x <= last; x++) {
            b[3] = (byte) x;
            out.add(InetAddress.getByAddress(b.clone()));
        }
        return out;
    }

    private void run(List<InetSocketAddress> targets, List<InetAddress> sources) throws InterruptedException {
        ObjectNode start = event("start");
        start.put("agents", agents.size());
        start.put("targets", targets.toString());
        start.put("sources", sources.size());
        start.put("transport", channelType.getSimpleName());
        start.put("tls", tls == null ? "off" : tls.getClass().getSimpleName() + (tlsResume ? ", sessions kept" : ", no sessions"));
        print(start);
        Thread stdin = new Thread(this::readCommands, "generator-stdin");
        stdin.setDaemon(true);
        stdin.start();
        control.scheduleAtFixedRate(() -> {
            flushJournal();
            print(progress("progress"));
        }, 1, 1, TimeUnit.SECONDS);
        control.schedule(() -> stop("max-seconds"), maxNanos, TimeUnit.NANOSECONDS);
        if (startEveryMillis > 0) {
            control.scheduleAtFixedRate(this::startNext, 0, startEveryMillis, TimeUnit.MILLISECONDS);
        } else {
            for (int i = 0; i < Math.min(concurrency, agents.size()); i++) {
                startNext();
            }
        }
        // Belt and braces: the control thread stops the run at max-seconds; this bounds the wait for it.
        if (!finished.await(maxNanos + TimeUnit.SECONDS.toNanos(60), TimeUnit.NANOSECONDS)) {
            stop("hard deadline");
        }
    }

    private void startNext() {
        int i = nextToStart.getAndIncrement();
        if (i < agents.size() && !stopping.get()) {
            agents.get(i).start();
        }
    }

    private void readCommands() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] w = line.trim().split("\\s+");
                switch (w[0]) {
                    case "fanout" -> {
                        long revision = Long.parseLong(w[1]);
                        watch(w, event("fanout").put("revision", revision), a -> a.revision >= revision, a -> a.revisionNanos);
                    }
                    case "afanout" -> {
                        String actionId = w[1];
                        watch(w, event("afanout").put("actionId", actionId), a -> actionId.equals(a.actionId), a -> a.actionNanos);
                    }
                    case "artfanout" -> {
                        String sha = w[1];
                        watch(w, event("artfanout").put("artifact", sha), a -> sha.equals(a.artifactKey), a -> a.artifactNanos);
                    }
                    case "ids" -> {
                        ObjectNode e = event("ids");
                        var arr = e.putArray("ids");
                        for (AgentSimulator a : agents) {
                            if (a.agentId() != null) {
                                arr.add(a.agentId());
                            }
                        }
                        print(e);
                    }
                    case "window" -> {
                        Window old = acks;
                        acks = new Window();
                        ObjectNode e = event("window");
                        old.put(e, "acks");
                        print(e);
                    }
                    case "stop" -> {
                        stop("stop command");
                        return;
                    }
                    case "" -> {
                    }
                    default -> error("command", line);
                }
            }
        } catch (Exception e) {
            error("stdin", e.toString());
        }
        stop("stdin closed");
    }

    /**
     * Polls the agents every 5 ms until all {@code have} what is watched or the deadline passes, then prints
     * {@code e} with a histogram of ({@code at} - t0) over the agents that have it.
     */
    /** A fan-out command {@code <kind> <what> <t0 nanos> <timeout millis>}: watches for it as {@link #watch} does. */
    private void watch(String[] command, ObjectNode e, java.util.function.Predicate<AgentSimulator> has,
                       java.util.function.ToLongFunction<AgentSimulator> at) {
        watch(e, has, at, Long.parseLong(command[2]), System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(command[3])));
    }

    private void watch(ObjectNode e, java.util.function.Predicate<AgentSimulator> has,
                       java.util.function.ToLongFunction<AgentSimulator> at, long t0, long deadline) {
        control.execute(new Runnable() {
            @Override
            public void run() {
                int have = 0;
                for (AgentSimulator a : agents) {
                    if (has.test(a)) {
                        have++;
                    }
                }
                if (have < agents.size() && System.nanoTime() < deadline && !stopping.get()) {
                    control.schedule(this, 5, TimeUnit.MILLISECONDS);
                    return;
                }
                Histogram h = new Histogram(HIST_MAX_MICROS, 3);
                long early = 0;
                for (AgentSimulator a : agents) {
                    if (has.test(a)) {
                        long micros = (at.applyAsLong(a) - t0) / 1000;
                        if (micros < 0) {
                            early++;
                        }
                        h.recordValue(Math.min(HIST_MAX_MICROS, Math.max(0, micros)));
                    }
                }
                e.put("agents", agents.size());
                e.put("received", have);
                e.put("early", early);
                e.put("p50Micros", h.getValueAtPercentile(50));
                e.put("maxMicros", h.getMaxValue());
                e.put("histogram", Histograms.encode(h));
                print(e);
            }
        });
    }

    /** First start and last end of a kind of request, and how many; nanoTime, thread-safe. */
    static final class Window {
        final java.util.concurrent.atomic.AtomicLong first = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
        final java.util.concurrent.atomic.AtomicLong last = new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);
        final LongAdder count = new LongAdder();
        final LongAdder requests = new LongAdder();

        void sent(long nanos) {
            first.accumulateAndGet(nanos, Math::min);
        }

        void done(long nanos, int n) {
            last.accumulateAndGet(nanos, Math::max);
            count.add(n);
            requests.increment();
        }

        void put(ObjectNode e, String prefix) {
            e.put(prefix, count.sum());
            e.put(prefix + "Requests", requests.sum());
            if (requests.sum() > 0) {
                e.put(prefix + "FirstSentNanos", first.get());
                e.put(prefix + "LastDoneNanos", last.get());
            }
        }
    }

    /** A new agent of this generator, on the next event loop; not started. Before {@link #run}. */
    AgentSimulator addAgent(InetSocketAddress server, InetSocketAddress source) {
        return addAgent(List.of(server), source);
    }

    /** A new agent that tries {@code servers} in this order (its home first); not started. Before {@link #run}. */
    AgentSimulator addAgent(List<InetSocketAddress> servers, InetSocketAddress source) {
        AgentSimulator a = new AgentSimulator(agents.size(), this, group.next(), servers, source);
        agents.add(a);
        return a;
    }

    /** Stops every agent and the event loops, and prints the final "done" line. Idempotent. */
    void stop(String why) {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        agents.forEach(AgentSimulator::stop);
        try {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ObjectNode done = progress("done");
        done.put("reason", why);
        done.put("enrollHistogram", Histograms.encode(enrollMicros));
        done.put("checkinHistogram", Histograms.encode(checkinMicros));
        done.put("ackHistogram", Histograms.encode(ackMicros));
        enrolls.put(done, "enrollWindow");
        acks.put(done, "ackWindow");
        flushJournal();
        print(done);
        control.shutdownNow();
        finished.countDown();
    }

    private ObjectNode progress(String kind) {
        ObjectNode e = event(kind);
        e.put("started", Math.min(nextToStart.get(), agents.size()));
        e.put("enrolled", enrolled.get());
        e.put("everParked", everParked.get());
        e.put("parked", parked.get());
        e.put("connected", connected.get());
        e.put("throttled", throttled.sum());
        e.put("reconnects", reconnects.sum());
        e.put("connectFailures", connectFailures.sum());
        e.put("pollsExpired", pollsExpired.sum());
        e.put("failovers", failovers.sum());
        ObjectNode ans = e.putObject("answers");
        answers.forEach((k, v) -> ans.put(k, v.sum()));
        ObjectNode errs = e.putObject("errors");
        errors.forEach((k, v) -> errs.put(k, v.sum()));
        ObjectNode last = e.putObject("lastError");
        lastError.forEach(last::put);
        return e;
    }

    private ObjectNode event(String kind) {
        ObjectNode e = EventLines.event(kind, startNanos);
        e.put("gen", id);
        return e;
    }

    private static void print(ObjectNode e) {
        EventLines.print(e);
    }

    // --- called by agents, from event loops ---

    int id() {
        return id;
    }

    Class<? extends Channel> channelType() {
        return channelType;
    }

    long applyMillis() {
        return applyMillis;
    }

    AsciiString enrollAuthorization() {
        return enrollAuthorization;
    }

    void enrolled(long nanos, long now) {
        enrolled.incrementAndGet();
        enrolls.done(now, 1);
        enrollMicros.recordValue(Math.min(HIST_MAX_MICROS, nanos / 1000));
    }

    void enrollSent(long now) {
        enrolls.sent(now);
    }

    void ackSent(long now) {
        acks.sent(now);
    }

    boolean enrollOnly() {
        return enrollOnly;
    }

    /** Enroll-only mode: one more agent enrolled and left; start the next, stop when all are done. */
    void enrollOnlyDone() {
        startNext();
        if (enrollOnlyDone.incrementAndGet() == agents.size()) {
            control.execute(() -> stop("all enrolled"));
        }
    }

    void checkinLatency(long nanos) {
        checkinMicros.recordValue(Math.min(HIST_MAX_MICROS, nanos / 1000));
    }

    void ackLatency(long nanos, long now, int events) {
        acks.done(now, events);
        ackMicros.recordValue(Math.min(HIST_MAX_MICROS, nanos / 1000));
    }

    void firstParked() {
        everParked.incrementAndGet();
        if (startEveryMillis <= 0) {
            startNext();
        }
    }

    /** An HTTP answer to a request of {@code step}. */
    void answer(String step, int status, boolean retryAfter) {
        String key = step.toLowerCase(java.util.Locale.ROOT) + "." + status + (retryAfter && status != 200 ? ".ra" : "");
        answers.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    void failover() {
        failovers.increment();
    }

    /** Appends a line to the journal of kept requests, if there is one; written out each second and at the end. */
    void journal(String line) {
        java.io.Writer w = journal;
        if (w == null) {
            return;
        }
        synchronized (w) {
            try {
                w.write(line);
                w.write('\n');
            } catch (java.io.IOException e) {
                error("journal", e.toString());
            }
        }
    }

    private void flushJournal() {
        java.io.Writer w = journal;
        if (w == null) {
            return;
        }
        synchronized (w) {
            try {
                w.flush();
            } catch (java.io.IOException e) {
                error("journal", e.toString());
            }
        }
    }

    void parked(int delta) {
        parked.addAndGet(delta);
    }

    void connected(int delta) {
        connected.addAndGet(delta);
    }

    void throttled() {
        throttled.increment();
    }

    /** The client TLS context, or null for plain HTTP. */
    io.netty.handler.ssl.SslContext tls() {
        return tls;
    }

    /** Whether agents send {@code Accept-Encoding: gzip}, as Elastic Agent does. */
    boolean acceptsGzip() {
        return acceptsGzip;
    }

    boolean tlsResume() {
        return tlsResume;
    }

    void reconnect() {
        reconnects.increment();
    }

    void connectFailed() {
        connectFailures.increment();
    }

    void pollExpired() {
        pollsExpired.increment();
    }

    void error(String kind, String detail) {
        errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
        lastError.put(kind, detail.length() > 300 ? detail.substring(0, 300) : detail);
    }
}
