package dev.fleetserver.netty.metrics;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.FleetVersion;
import dev.fleetserver.core.metrics.FleetMetrics;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.limit.BodyBudget;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocatorMetric;
import io.netty.channel.ChannelHandler;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * Every meter of one daemon, in one Micrometer registry: connections, per-route request counters, parked checkins,
 * fan-out and store latencies (as core's {@link FleetMetrics}), JVM and Netty allocator memory. Exposed as
 * Prometheus text ({@link #scrape()}) and as the original's {@code /stats} JSON ({@link #stats()}). Thread-safe;
 * the per-request paths only touch meters resolved up front.
 */
public final class DaemonMetrics implements FleetMetrics, AutoCloseable {
    private static final Duration[] LATENCY_BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
        Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
        Duration.ofSeconds(60)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final RouteTable routes;
    private final String backend;
    private final String ephemeralId = UUID.randomUUID().toString();
    private final long startedNanos = System.nanoTime();
    private final Counter opened;
    private final Counter closed;
    private final Counter rejected;
    private final AtomicLong activeConnections = new AtomicLong();
    private final Map<FanOut, Timer> fanOut = new EnumMap<>(FanOut.class);
    private final Map<String, StoreMeters> store = new ConcurrentHashMap<>();
    private final Map<String, ElasticsearchMeters> elasticsearch = new ConcurrentHashMap<>();
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private volatile IntSupplier parked = () -> 0;
    private volatile BodyBudget budget;
    private volatile java.util.function.Supplier<dev.fleetserver.netty.limit.ResolvedLimits> limits = () -> null;
    private volatile java.util.function.Supplier<dev.fleetserver.core.self.SelfMonitor.Snapshot> self = () -> null;
    private volatile java.util.function.Supplier<dev.fleetserver.netty.tls.ServerTls.Stats> tls = () -> null;

    /** @param backend {@code embedded} or {@code elasticsearch}: a tag on the store meters */
    public DaemonMetrics(String backend) {
        this.backend = backend;
        this.routes = new RouteTable(registry);
        opened = Counter.builder("fleet.http.connections.opened").description("Agent-API TCP connections accepted")
                .register(registry);
        closed = Counter.builder("fleet.http.connections.closed").description("Agent-API TCP connections closed")
                .register(registry);
        rejected = Counter.builder("fleet.http.connections.rejected")
                .description("Requests or connections turned away by the global connection cap").register(registry);
        Gauge.builder("fleet.http.connections.active", activeConnections, AtomicLong::get)
                .description("Agent-API TCP connections open now").register(registry);
        Gauge.builder("fleet.checkins.parked", this, m -> m.parked.getAsInt())
                .description("Checkins long-polling now").register(registry);
        for (FanOut cause : FanOut.values()) {
            fanOut.put(cause, Timer.builder("fleet.fanout.latency").tag("cause", cause.name().toLowerCase(Locale.ROOT))
                    .description("From a new policy revision or action being seen to a parked agent's answer being handed to its connection")
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(registry));
        }
        bindAllocator();
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
    }

    private void bindAllocator() {
        PooledByteBufAllocatorMetric m = PooledByteBufAllocator.DEFAULT.metric();
        Gauge.builder("netty.allocator.memory.used", m, PooledByteBufAllocatorMetric::usedHeapMemory).baseUnit("bytes")
                .tag("type", "heap").description("Memory held by Netty's pooled allocator").register(registry);
        Gauge.builder("netty.allocator.memory.used", m, PooledByteBufAllocatorMetric::usedDirectMemory).baseUnit("bytes")
                .tag("type", "direct").description("Memory held by Netty's pooled allocator").register(registry);
        Gauge.builder("netty.allocator.arenas", m, PooledByteBufAllocatorMetric::numHeapArenas).tag("type", "heap")
                .register(registry);
        Gauge.builder("netty.allocator.arenas", m, PooledByteBufAllocatorMetric::numDirectArenas).tag("type", "direct")
                .register(registry);
        Gauge.builder("netty.allocator.threadlocal.caches", m, PooledByteBufAllocatorMetric::numThreadLocalCaches)
                .register(registry);
    }

    /** A new per-connection handler for the agent API's pipeline (see {@link HttpMetricsHandler}). */
    public ChannelHandler newConnectionHandler() {
        return new HttpMetricsHandler(this);
    }

    /** Meters the process's budget for request bodies in memory: held, capacity, refusals. */
    public void bodyBudget(BodyBudget budget) {
        this.budget = budget;
        Gauge.builder("fleet.http.body.memory", budget, BodyBudget::held).baseUnit("bytes")
                .description("Memory request bodies hold now (received, or parsed and not yet answered)").register(registry);
        Gauge.builder("fleet.http.body.memory.limit", budget, BodyBudget::capacity).baseUnit("bytes")
                .description("The most request bodies may hold together; beyond it requests get 429").register(registry);
        FunctionCounter.builder("fleet.http.body.memory.refusals", budget, BodyBudget::refusals)
                .description("Requests refused (429) or connections closed because bodies in memory were at the limit")
                .register(registry);
    }

    /** Meters the artifact cache: store reads made for artifacts, bytes cached. */
    /** The agent listener's limits in force, shown in {@code /stats} ({@code fleet.limits}). */
    public void limits(java.util.function.Supplier<dev.fleetserver.netty.limit.ResolvedLimits> limits) {
        this.limits = limits;
    }

    /** Meters the agent listener's TLS handshakes; shown in {@code /stats} ({@code fleet.tls}). */
    public void tls(dev.fleetserver.netty.tls.ServerTls tls) {
        this.tls = tls::stats;
        FunctionCounter.builder("fleet.tls.handshakes", tls, t -> t.stats().handshakes())
                .description("TLS handshakes completed on the agent listener, full or resumed").register(registry);
        FunctionCounter.builder("fleet.tls.handshakes.resumed", tls, t -> Math.max(0, t.stats().resumed()))
                .description("TLS handshakes that resumed a session from a ticket (OpenSSL engine)").register(registry);
        FunctionCounter.builder("fleet.tls.handshakes.failed", tls, t -> t.stats().failed())
                .description("TLS handshakes that failed").register(registry);
    }

    /** The server's own agent as its last heartbeat wrote it, shown in {@code /stats} ({@code fleet.self}). */
    public void self(java.util.function.Supplier<dev.fleetserver.core.self.SelfMonitor.Snapshot> self) {
        this.self = self;
    }

    public void artifacts(dev.fleetserver.core.artifact.ArtifactService artifacts) {
        FunctionCounter.builder("fleet.artifacts.store.reads", artifacts, a -> a.storeReads())
                .description("Store reads made for artifacts (one per artifact however many agents ask at once)")
                .register(registry);
        Gauge.builder("fleet.artifacts.cache", artifacts, a -> a.cachedBytes()).baseUnit("bytes")
                .description("Bytes of artifact bodies cached").register(registry);
    }

    /** Where the number of parked checkins comes from, once core runs. */
    public void parkedCheckins(IntSupplier count) {
        this.parked = count;
    }

    /** A connection or request turned away by the global cap ({@code max_connections}); any thread. */
    public void connectionRejected() {
        rejected.increment();
    }

    void connectionOpened() {
        opened.increment();
        activeConnections.incrementAndGet();
    }

    void connectionClosed() {
        closed.increment();
        activeConnections.decrementAndGet();
    }

    RouteTable routes() {
        return routes;
    }

    public MeterRegistry registry() {
        return registry;
    }

    @Override
    public void fannedOut(FanOut cause, long seenNanos) {
        fanOut.get(cause).record(System.nanoTime() - seenNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void storeCall(String operation, long nanos, boolean failed) {
        StoreMeters m = store.get(operation);
        if (m == null) {
            m = store.computeIfAbsent(operation, StoreMeters::new);
        }
        m.latency.record(nanos, TimeUnit.NANOSECONDS);
        if (failed) {
            m.errors.increment();
        }
    }

    @Override
    public void elasticsearchRequest(String api, int status, long nanos) {
        ElasticsearchMeters m = elasticsearch.get(api);
        if (m == null) {
            m = elasticsearch.computeIfAbsent(api, ElasticsearchMeters::new);
        }
        m.latency.record(nanos, TimeUnit.NANOSECONDS);
        if (status < 0) {
            m.unreachable.increment();
        } else if (status == 429) {
            m.rejected.increment();
        } else if (status >= 500) {
            m.serverErrors.increment();
        }
    }

    /**
     * The meters of one Elasticsearch API. Errors are what the cluster cannot answer: no host reachable, 429, 5xx;
     * a 404 or 409 is an ordinary answer in this protocol.
     */
    private final class ElasticsearchMeters {
        final Timer latency;
        final Counter unreachable;
        final Counter rejected;
        final Counter serverErrors;

        ElasticsearchMeters(String api) {
            latency = Timer.builder("fleet.elasticsearch.requests").tag("api", api)
                    .description("Elasticsearch requests, retries on other hosts included")
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
            unreachable = esErrors(api, "unreachable");
            rejected = esErrors(api, "429");
            serverErrors = esErrors(api, "5xx");
        }

        private Counter esErrors(String api, String reason) {
            return Counter.builder("fleet.elasticsearch.errors").tag("api", api).tag("reason", reason)
                    .description("Elasticsearch requests no host answered (unreachable), or answered 429 or 5xx")
                    .register(registry);
        }
    }

    /** The meters of one store operation, created on its first call (the set of operations is small and fixed). */
    private final class StoreMeters {
        final Timer latency;
        final Counter errors;

        StoreMeters(String operation) {
            latency = Timer.builder("fleet.store.requests").tag("backend", backend).tag("operation", operation)
                    .description("Document-store calls (Elasticsearch requests or embedded-store transactions)")
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
            errors = Counter.builder("fleet.store.errors").tag("backend", backend).tag("operation", operation)
                    .description("Document-store calls that failed").register(registry);
        }
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    /**
     * The original's {@code /stats} document: {@code beat} (info, memory, runtime) and {@code http_server}
     * ({@code tcp_open}, {@code tcp_close}, {@code tcp_active}, {@code tcp_rejected} and per route {@code active},
     * {@code total}, {@code limit_rate}, {@code limit_max}, {@code fail}, {@code drop}, {@code body_in},
     * {@code body_out}), plus our own {@code fleet} (parked checkins, fan-out, store), {@code jvm} and {@code netty}.
     */
    public ObjectNode stats() {
        ObjectNode root = Json.object();
        ObjectNode beat = root.putObject("beat");
        ObjectNode info = beat.putObject("info");
        info.put("name", "fleet-server");
        info.put("version", FleetVersion.VERSION);
        info.put("ephemeral_id", ephemeralId);
        info.putObject("uptime").put("ms", (System.nanoTime() - startedNanos) / 1_000_000);
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        ObjectNode mem = beat.putObject("memstats");
        mem.put("memory_alloc", heap.getUsed());
        mem.put("memory_total", heap.getCommitted());
        mem.put("memory_max", heap.getMax());
        beat.putObject("runtime").put("threads", ManagementFactory.getThreadMXBean().getThreadCount());

        ObjectNode http = root.putObject("http_server");
        http.put("tcp_open", (long) opened.count());
        http.put("tcp_close", (long) closed.count());
        http.put("tcp_active", activeConnections.get());
        http.put("tcp_rejected", (long) rejected.count());
        ObjectNode routeStats = http.putObject("routes");
        for (RouteStats r : routes.all()) {
            ObjectNode n = routeStats.putObject(r.name);
            n.put("active", r.active.get());
            n.put("total", (long) r.total.count());
            n.put("limit_rate", (long) r.limitRate.count());
            n.put("limit_max", (long) r.limitMax.count());
            n.put("fail", (long) (r.errors4xx.count() + r.errors5xx.count()));
            n.put("fail_4xx", (long) r.errors4xx.count());
            n.put("fail_5xx", (long) r.errors5xx.count());
            n.put("drop", (long) r.dropped.count());
            n.put("body_in", (long) r.bodyIn.count());
            n.put("body_out", (long) r.bodyOut.count());
        }

        ObjectNode fleet = root.putObject("fleet");
        fleet.put("checkins_parked", parked.getAsInt());
        BodyBudget b = budget;
        if (b != null) {
            fleet.putObject("body_memory").put("held", b.held()).put("limit", b.capacity()).put("refusals", b.refusals());
        }
        var inForce = limits.get();
        if (inForce != null) {
            ObjectNode l = fleet.putObject("limits");
            l.put("profile", inForce.profile().name());
            l.put("max_connections", inForce.maxConnections());
            ObjectNode rl = l.putObject("routes");
            inForce.routes().forEach((name, r) -> rl.putObject(name)
                    .put("interval_ms", r.intervalNanos() / 1_000_000.0)
                    .put("burst", r.burst())
                    .put("max", r.max())
                    .put("max_body_byte_size", r.maxBodyByteSize()));
        }
        var handshakes = tls.get();
        if (handshakes != null) {
            fleet.putObject("tls").put("engine", handshakes.engine()).put("handshakes", handshakes.handshakes())
                    .put("resumed", handshakes.resumed()).put("failed", handshakes.failed());
        }
        var me = self.get();
        if (me != null) {
            ObjectNode so = fleet.putObject("self");
            so.put("policy_id", me.policyId());
            so.put("policy_revision", me.revision());
            so.put("state", me.state().name());
            so.put("message", me.message());
        }
        ObjectNode fan = fleet.putObject("fanout");
        fanOut.forEach((cause, timer) -> timing(fan.putObject(cause.name().toLowerCase(Locale.ROOT)), timer));
        ObjectNode st = fleet.putObject("store");
        st.put("backend", backend);
        store.forEach((op, m) -> timing(st.putObject(op), m.latency).put("errors", (long) m.errors.count()));
        ObjectNode es = fleet.putObject("elasticsearch");
        elasticsearch.forEach((api, m) -> timing(es.putObject(api), m.latency)
                .put("unreachable", (long) m.unreachable.count())
                .put("rejected", (long) m.rejected.count())
                .put("server_errors", (long) m.serverErrors.count()));

        ObjectNode jvm = root.putObject("jvm");
        jvm.put("heap_used", heap.getUsed());
        jvm.put("heap_committed", heap.getCommitted());
        jvm.put("heap_max", heap.getMax());
        jvm.put("non_heap_used", ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getUsed());
        PooledByteBufAllocatorMetric a = PooledByteBufAllocator.DEFAULT.metric();
        ObjectNode alloc = root.putObject("netty").putObject("allocator");
        alloc.put("used_heap", a.usedHeapMemory());
        alloc.put("used_direct", a.usedDirectMemory());
        alloc.put("heap_arenas", a.numHeapArenas());
        alloc.put("direct_arenas", a.numDirectArenas());
        alloc.put("thread_local_caches", a.numThreadLocalCaches());
        alloc.put("chunk_size", a.chunkSize());
        return root;
    }

    private static ObjectNode timing(ObjectNode n, Timer t) {
        n.put("count", t.count());
        n.put("mean_ms", t.mean(TimeUnit.MILLISECONDS));
        n.put("max_ms", t.max(TimeUnit.MILLISECONDS));
        return n;
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
