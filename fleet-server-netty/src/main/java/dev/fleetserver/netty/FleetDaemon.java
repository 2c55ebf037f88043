package dev.fleetserver.netty;

import dev.fleetserver.core.CoreSettings;
import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.checkin.CheckinSettings;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.metrics.MeteredDocumentStore;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.secret.IndexSecretStore;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.embedded.EmbeddedApiKeys;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.ExecutorScheduler;
import dev.fleetserver.es.EsApiKeys;
import dev.fleetserver.es.EsClient;
import dev.fleetserver.es.EsConfig;
import dev.fleetserver.es.EsRemoteClusters;
import dev.fleetserver.es.EsDocumentStore;
import dev.fleetserver.es.EsSecretStore;
import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.config.OutputConfig;
import dev.fleetserver.netty.config.TimeoutsConfig;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.route.PgpKeyRoute;
import dev.fleetserver.netty.tls.ServerTls;
import dev.fleetserver.netty.metrics.DaemonMetrics;
import dev.fleetserver.netty.metrics.MetricsServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Fleet Server: store, core and listeners, built from a {@link FleetServerConfig}. The back end is
 * Elasticsearch when {@code output.elasticsearch.hosts} is set (as in the original), else the embedded store. {@link #stop()} shuts
 * down in the safe order (listeners and parked checkins, pending writes, then the store).
 */
public final class FleetDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetDaemon.class);
    static final String MANAGEMENT_TOKEN_FILE = "management-token";

    private final DocumentStore store;
    private final Backend backend;
    private final ExecutorScheduler scheduler;
    private final FleetCore core;
    private final FleetServer server;
    private final String enrollmentToken;
    private final String managementToken;
    private final Duration drain;
    private final DaemonMetrics metrics;
    private final MetricsServer metricsServer;
    private boolean stopped;

    private FleetDaemon(Backend backend, ExecutorScheduler scheduler, FleetCore core, FleetServer server,
                        String enrollmentToken, String managementToken, Duration drain, DaemonMetrics metrics,
                        MetricsServer metricsServer) {
        this.metrics = metrics;
        this.metricsServer = metricsServer;
        this.backend = backend;
        this.store = backend.store();
        this.scheduler = scheduler;
        this.core = core;
        this.server = server;
        this.enrollmentToken = enrollmentToken;
        this.managementToken = managementToken;
        this.drain = drain;
    }

    /** Starts everything; on failure releases what was started and rethrows. */
    public static FleetDaemon start(FleetServerConfig config) throws Exception {
        for (String ignored : config.ignoredSettings()) {
            LOG.warn("setting {} is accepted for compatibility but not implemented; it has no effect", ignored);
        }
        Path dataDir = config.embedded().dataDir();
        Files.createDirectories(dataDir);
        DaemonMetrics metrics = new DaemonMetrics(config.output().isConfigured() ? "elasticsearch" : "embedded");
        Backend backend;
        try {
            backend = config.output().isConfigured() ? elasticsearch(config, metrics) : embedded(dataDir);
        } catch (IOException | RuntimeException e) {
            metrics.close();
            throw e;
        }
        DocumentStore store = backend.store();
        ExecutorScheduler scheduler = new ExecutorScheduler("fleet-scheduler");
        FleetCore core = null;
        ServerTls tls = null;
        FleetServer server = null;
        try {
            if (backend.prepare() != null) {
                backend.prepare().get(60, TimeUnit.SECONDS);
            }
            core = new FleetCore(new MeteredDocumentStore(store, metrics), backend.apiKeys(), backend.secrets(), coreSettings(config),
                    Clock.systemUTC(), scheduler, backend.outputKeys(), metrics);
            metrics.parkedCheckins(core.checkin().registry()::size);
            metrics.bodyBudget(BodyBudget.PROCESS);
            String token = core.start().get(60, TimeUnit.SECONDS);
            String managementToken = managementToken(config, dataDir);
            var s = config.server();
            var m = config.management();
            tls = s.ssl().enabled() ? ServerTls.start(s.ssl()) : null;
            server = FleetServer.start(new FleetServer.Options(s.host(), s.port(), m.host(),
                    m.enabled() ? m.port() : -1, managementToken, s.limits().maxHeaderByteSize(),
                    s.compressionLevel(), s.compressionThreshold(), s.timeouts(), s.limits()), core, tls,
                    PgpKeyRoute.of(s.pgp(), dataDir), metrics);
            var http = config.http();
            MetricsServer metricsServer = http.enabled() ? MetricsServer.start(http.host(), http.port(), metrics) : null;
            return new FleetDaemon(backend, scheduler, core, server, token, managementToken, s.timeouts().drain(), metrics,
                    metricsServer);
        } catch (Exception e) {
            if (server != null) {
                server.close();
            } else if (tls != null) {
                tls.close();
            }
            metrics.close();
            if (core != null) {
                core.close();
            }
            scheduler.close();
            backend.close();
            throw e;
        }
    }

    /** The store and key ports of one back end, and how to release them. */
    private record Backend(DocumentStore store, ApiKeys apiKeys, SecretStore secrets, OutputKeys outputKeys,
                           CompletableFuture<Void> prepare, AutoCloseable... extra) {
        void close() {
            store.close();
            for (AutoCloseable c : extra) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing {} failed: {}", c, e.toString());
                }
            }
        }
    }

    private static Backend embedded(Path dataDir) {
        DocumentStore store = SqliteDocumentStore.open(dataDir);
        LOG.info("back end: embedded store in {}", dataDir);
        // No Elasticsearch to issue output keys in: outputs are delivered as written in the policy.
        return new Backend(store, new EmbeddedApiKeys(store, Clock.systemUTC()), new IndexSecretStore(store), OutputKeys.none(), null);
    }

    private static Backend elasticsearch(FleetServerConfig config, DaemonMetrics metrics) throws IOException {
        OutputConfig out = config.output();
        String token = out.serviceToken();
        if ((token == null || token.isEmpty()) && out.serviceTokenPath() != null) {
            token = Files.readString(Path.of(out.serviceTokenPath().toString()), StandardCharsets.UTF_8).trim();
        }
        if (token == null || token.isEmpty()) {
            throw new ConfigException("output.elasticsearch: service_token or service_token_path is required when hosts are set");
        }
        EsClient client = new EsClient(new EsConfig(out.hosts(), out.protocol(), token,
                out.caFiles().stream().map(p -> Path.of(p.toString())).toList(), out.headers(), out.timeout()), metrics);
        EsDocumentStore store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults());
        LOG.info("back end: Elasticsearch at {}", out.hosts());
        // Key calls share the connection pool with batched traffic; keep some connections for the batches.
        EsApiKeys apiKeys = new EsApiKeys(client, 120);
        EsRemoteClusters remotes = new EsRemoteClusters(out.timeout(), 16);
        return new Backend(store, apiKeys, new EsSecretStore(client, store), OutputKeys.of(apiKeys, remotes),
                store.ensureFleetIndices(), client, remotes);
    }

    static CoreSettings coreSettings(FleetServerConfig config) {
        TimeoutsConfig t = config.server().timeouts();
        CoreSettings defaults = CoreSettings.defaults();
        var p = config.server().pbkdf2();
        CoreSettings settings = defaults
                .withCheckin(new CheckinSettings(t.checkinLongPoll(), t.checkinJitter(), t.checkinMaxPoll(), t.checkinTimestamp(),
                        defaults.checkin().flushInterval()))
                .withPbkdf2(p.iterations(), p.keyLength(), p.saltLength());
        if (config.output().isConfigured()) {
            String host = config.output().hosts().get(0);
            if (!host.contains("://")) {
                host = config.output().protocol() + "://" + host;
            }
            settings = new CoreSettings(settings.checkin(), settings.apiKeyTtl(), settings.apiKeyJitter(), settings.apiKeyCacheSize(),
                    settings.pbkdf2Iterations(), settings.pbkdf2KeyLength(), settings.pbkdf2SaltLength(),
                    CoreSettings.defaultOutputs(host));
        }
        return settings;
    }

    /** The configured token, else the one stored in the data dir, else a new one written there with mode 0600. */
    static String managementToken(FleetServerConfig config, Path dataDir) throws IOException {
        String configured = config.management().token();
        if (configured != null && !configured.isEmpty()) {
            return configured;
        }
        Path file = dataDir.resolve(MANAGEMENT_TOKEN_FILE);
        if (Files.exists(file)) {
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        }
        byte[] raw = new byte[32];
        new SecureRandom().nextBytes(raw);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        Path tmp = dataDir.resolve(MANAGEMENT_TOKEN_FILE + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, token + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return token;
    }

    public String enrollmentToken() {
        return enrollmentToken;
    }

    public String managementToken() {
        return managementToken;
    }

    public int port() {
        return server.port();
    }

    public int managementPort() {
        return server.managementPort();
    }

    public FleetCore core() {
        return core;
    }

    /** The listeners (connection counts, admission control), for tests and metrics. */
    public FleetServer server() {
        return server;
    }

    public DocumentStore store() {
        return store;
    }

    /** The daemon's meters (also served on the metrics listener when {@code http.enabled}). */
    public DaemonMetrics metrics() {
        return metrics;
    }

    /** The bound port of the metrics listener, or -1 when {@code http.enabled} is false. */
    public int metricsPort() {
        return metricsServer == null ? -1 : metricsServer.port();
    }

    /** Graceful stop; idempotent. */
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        server.stop(drain);
        core.close();
        scheduler.close();
        backend.close();
        if (metricsServer != null) {
            metricsServer.close();
        }
        metrics.close();
    }

    @Override
    public void close() {
        stop();
    }
}
