package dev.fleetserver.netty;

import dev.fleetserver.core.CoreSettings;
import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.FleetVersion;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.artifact.ArtifactCacheSettings;
import dev.fleetserver.core.checkin.CheckinSettings;
import dev.fleetserver.core.file.DeliveryStore;
import dev.fleetserver.core.file.LocalFileStore;
import dev.fleetserver.core.metrics.MeteredDocumentStore;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.secret.IndexSecretStore;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.self.HostFacts;
import dev.fleetserver.core.self.SelfMonitor;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.embedded.EmbeddedApiKeys;
import dev.fleetserver.core.store.embedded.EmbeddedUploadStore;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.upload.UploadStore;
import dev.fleetserver.core.util.ExecutorScheduler;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.OwnerOnly;
import dev.fleetserver.core.util.Scheduler;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsConfig;
import dev.fleetserver.es.security.EsApiKeys;
import dev.fleetserver.es.security.EsRemoteClusters;
import dev.fleetserver.es.security.EsSecretStore;
import dev.fleetserver.es.store.EsDeliveryStore;
import dev.fleetserver.es.store.EsDocumentStore;
import dev.fleetserver.es.store.EsUploadStore;
import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.config.ManagementConfig;
import dev.fleetserver.netty.config.OutputConfig;
import dev.fleetserver.netty.config.TimeoutsConfig;
import dev.fleetserver.netty.datadir.DataDirLock;
import dev.fleetserver.netty.datadir.DataDirectory;
import dev.fleetserver.netty.datadir.EmbeddedStoreGuard;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.metrics.DaemonMetrics;
import dev.fleetserver.netty.metrics.MetricsServer;
import dev.fleetserver.netty.route.PgpKeyRoute;
import dev.fleetserver.netty.tls.ServerTls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Fleet Server: store, core and listeners, built from a {@link FleetServerConfig}. The back end is
 * Elasticsearch when {@code output.elasticsearch.hosts} is set (as in the original), else the embedded store.
 * {@link #stop()} shuts down in the safe order (listeners and parked checkins, pending writes, then the store).
 *
 * <p>The data directory ({@code --data-dir}) is created with mode 0700 and locked ({@link DataDirLock}) for the
 * daemon's lifetime, on both back ends. On the embedded store the store is checked before it is opened
 * ({@link EmbeddedStoreGuard}) and listeners are bound once it is ready. On Elasticsearch the listeners are bound
 * first and the cluster is prepared in the background, attempt after attempt (1 s doubling to 30 s apart) until it
 * answers: meanwhile {@code /api/status} reports {@code STARTING} and the other routes answer 503
 * ({@link dev.fleetserver.netty.route.StartingGate}). {@link #ready()} completes when the server serves.
 */
public final class FleetDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetDaemon.class);
    /** The management token's file in the data directory, when the configuration sets none. */
    public static final String MANAGEMENT_TOKEN_FILE = "management-token";
    /** Where the server's own agent id is kept (unless {@code fleet.agent.id} sets it). */
    public static final String AGENT_ID_FILE = "agent-id";
    /** The TLS session ticket keys, kept so that agents resume their sessions after a restart. */
    public static final String TLS_TICKET_KEYS_FILE = "tls-session-tickets";
    static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    static final Duration MAX_RETRY = Duration.ofSeconds(30);
    /** How long {@link #start} waits for {@link #ready()}. */
    static final Duration START_TIMEOUT = Duration.ofMinutes(2);

    private final Path dataDir;
    private final DataDirLock lock;
    private final DocumentStore store;
    private final Backend backend;
    private final ExecutorScheduler scheduler;
    private final FleetCore core;
    private final String managementToken;
    private final Duration drain;
    private final DaemonMetrics metrics;
    private final CompletableFuture<FleetCore.Started> ready = new CompletableFuture<>();
    private FleetServer server;
    private MetricsServer metricsServer;
    private volatile Scheduler.Cancellable retry;
    private volatile boolean stopped;
    private volatile FleetServerConfig config;
    private volatile SelfMonitor.Settings selfSettings;

    private FleetDaemon(Path dataDir, DataDirLock lock, Backend backend, ExecutorScheduler scheduler, FleetCore core,
                        String managementToken, Duration drain, DaemonMetrics metrics) {
        this.dataDir = dataDir;
        this.lock = lock;
        this.metrics = metrics;
        this.backend = backend;
        this.store = backend.store();
        this.scheduler = scheduler;
        this.core = core;
        this.managementToken = managementToken;
        this.drain = drain;
    }

    /**
     * {@link #launch} and waits until the daemon serves (on Elasticsearch: until the cluster answered), at most
     * {@link #START_TIMEOUT}; on failure releases what was started and rethrows.
     */
    public static FleetDaemon start(FleetServerConfig config) throws Exception {
        FleetDaemon daemon = launch(config);
        try {
            daemon.ready.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return daemon;
        } catch (ExecutionException e) {
            daemon.stop();
            throw e.getCause() instanceof Exception cause ? cause : e;
        } catch (TimeoutException | InterruptedException e) {
            daemon.stop();
            throw e;
        }
    }

    /**
     * Starts everything and returns once the listeners are bound; on the embedded store the daemon then already
     * serves, on Elasticsearch it may still wait for the cluster (see {@link #ready()}). On failure releases what
     * was started and rethrows.
     *
     * @throws ConfigException  when the configuration cannot work (no service token, unreadable CA file)
     * @throws StartupException when the data directory is in use, the embedded store is missing or damaged, or a
     *                          listener cannot bind
     */
    public static FleetDaemon launch(FleetServerConfig config) throws Exception {
        // Configuration errors first, so that they are all the operator sees.
        String serviceToken = config.output().isConfigured() ? serviceToken(config) : null;
        for (String ignored : config.ignoredSettings()) {
            LOG.warn("setting {} is accepted for compatibility but not implemented; it has no effect", ignored);
        }
        Path dataDir = DataDirectory.prepare(config.embedded().dataDir());
        DataDirLock lock = DataDirLock.acquire(dataDir);
        FleetDaemon daemon = null;
        try {
            daemon = assemble(config, dataDir, lock, serviceToken);
            daemon.serve(config);
            return daemon;
        } catch (Exception | Error e) {
            if (daemon != null) {
                daemon.stop();
            } else {
                lock.close();
            }
            throw e;
        }
    }

    /** Back end, core and management token; nothing listening yet. */
    private static FleetDaemon assemble(FleetServerConfig config, Path dataDir, DataDirLock lock, String serviceToken)
            throws Exception {
        DaemonMetrics metrics = new DaemonMetrics(config.output().isConfigured() ? "elasticsearch" : "embedded");
        Backend backend;
        try {
            backend = config.output().isConfigured() ? elasticsearch(config, serviceToken, metrics) : embedded(dataDir);
        } catch (Exception | Error e) {
            metrics.close();
            throw e;
        }
        ExecutorScheduler scheduler = new ExecutorScheduler("fleet-scheduler");
        FleetCore core = null;
        try {
            core = new FleetCore(new MeteredDocumentStore(backend.store(), metrics), backend.apiKeys(), backend.secrets(),
                    coreSettings(config), Clock.systemUTC(), scheduler, backend.outputKeys(), metrics, backend.uploads(),
                    config.server().limits().maxFileStorageSize(), backend.files());
            metrics.parkedCheckins(core.checkin().registry()::size);
            metrics.bodyBudget(BodyBudget.PROCESS);
            metrics.artifacts(core.artifacts());
            if (backend.store() instanceof SqliteDocumentStore sqlite) {
                sqlite.onCorruption(core.status()::failed);
            }
            String managementToken = managementToken(config, dataDir);
            return new FleetDaemon(dataDir, lock, backend, scheduler, core, managementToken,
                    config.server().timeouts().drain(), metrics);
        } catch (Exception | Error e) {
            if (core != null) {
                core.close();
            }
            scheduler.close();
            backend.close();
            metrics.close();
            throw e;
        }
    }

    /** Embedded: prepares core, then binds. Elasticsearch: binds, then prepares in the background. */
    private void serve(FleetServerConfig config) throws Exception {
        this.config = config;
        this.selfSettings = selfSettings(config);
        FleetCore.Started started = null;
        if (backend.prepare() == null) {
            try {
                started = core.startUp().get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }
        var s = config.server();
        var m = config.management();
        ServerTls tls = s.ssl().enabled() ? ServerTls.start(s.ssl(), dataDir.resolve(TLS_TICKET_KEYS_FILE)) : null;
        if (tls != null) {
            metrics.tls(tls);
        }
        ServerTls managementTls;
        try {
            managementTls = managementTls(m);
        } catch (IOException | RuntimeException | Error e) {
            if (tls != null) {
                tls.close();
            }
            throw e;
        }
        // Closes both itself when it fails.
        server = FleetServer.start(s, m, managementToken, core, tls, managementTls,
                PgpKeyRoute.of(s.pgp(), dataDir), metrics);
        FleetServer listening = server;
        metrics.limits(() -> listening.admission() == null ? null : listening.admission().limits());
        core.health().shedCount(() -> (listening.admission() == null ? 0 : listening.admission().shed())
                + (listening.connectionLimit() == null ? 0 : listening.connectionLimit().refused())
                + BodyBudget.PROCESS.refusals());
        var http = config.http();
        if (http.enabled()) {
            try {
                metricsServer = MetricsServer.start(http.host(), http.port(), metrics);
            } catch (java.net.BindException e) {
                throw FleetServer.bindFailure("metrics", http.host(), http.port(), e);
            }
        }
        if (started != null) {
            serving(started);
        } else {
            LOG.info("waiting for Elasticsearch at {} (agents are answered 503 meanwhile)", config.output().hosts());
            attempt(1, FIRST_RETRY, config.output().timeout());
        }
    }

    /**
     * TLS for the management listener, or null. Its session tickets stay in memory: a few console and curl
     * connections gain nothing from resuming across restarts.
     */
    private static ServerTls managementTls(ManagementConfig m) throws IOException {
        if (!m.enabled() || !m.ssl().enabled()) {
            return null;
        }
        try {
            return ServerTls.start(m.ssl(), null);
        } catch (IOException e) {
            // The TLS code names the agent listener's keys ("ssl.key: ..."); these are management's.
            String message = String.valueOf(e.getMessage());
            throw new IOException(message.startsWith("ssl.") ? "management." + message : "management.ssl: " + message, e);
        }
    }

    /**
     * One attempt at preparing the cluster (Fleet indices, default policy, feeds), then, on failure, the next one
     * after {@code wait}: one log line per attempt with its cause, until it works or the daemon stops.
     */
    private void attempt(int n, Duration wait, Duration requestTimeout) {
        if (stopped) {
            ready.completeExceptionally(new CancellationException("stopped while waiting for Elasticsearch"));
            return;
        }
        CompletableFuture<FleetCore.Started> attempt;
        try {
            attempt = backend.prepare().get().thenCompose(v -> core.startUp());
        } catch (RuntimeException e) {
            attempt = CompletableFuture.failedFuture(e);
        }
        attempt.whenComplete((started, t) -> {
            if (stopped) {
                ready.completeExceptionally(new CancellationException("stopped while waiting for Elasticsearch"));
            } else if (t == null) {
                LOG.info("Elasticsearch is ready{}; serving", n == 1 ? "" : " after " + n + " attempts");
                serving(started);
            } else {
                String cause = cause(t);
                LOG.warn("Elasticsearch is not ready (attempt {}): {}; next attempt in {} s", n, cause, wait.toSeconds());
                // systemd waits as long as attempts go on: the pause, plus as long as the next attempt may take.
                SystemdNotify.waiting("waiting for Elasticsearch: " + cause, wait.plus(requestTimeout).plus(MAX_RETRY));
                Duration next = wait.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : wait.multipliedBy(2);
                retry = scheduler.schedule(() -> attempt(n + 1, next, requestTimeout), wait);
            }
        });
    }

    private static String cause(Throwable t) {
        Throwable c = Futures.unwrap(t);
        String message = c.getMessage();
        return message == null || message.isBlank() ? c.getClass().getSimpleName() : message;
    }

    /** The store and key ports of one back end, and how to release them. */
    private record Backend(DocumentStore store, ApiKeys apiKeys, SecretStore secrets, OutputKeys outputKeys,
                           UploadStore uploads, DeliveryStore files, Supplier<CompletableFuture<Void>> prepare,
                           AutoCloseable... extra) {
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

    private static Backend embedded(Path dataDir) throws IOException {
        EmbeddedStoreGuard.check(dataDir);
        SqliteDocumentStore store = SqliteDocumentStore.open(dataDir);
        LOG.info("back end: embedded store in {}", dataDir);
        // No Elasticsearch to issue output keys in: outputs are delivered as written in the policy.
        EmbeddedUploadStore uploads;
        LocalFileStore files;
        try {
            uploads = new EmbeddedUploadStore(store, dataDir.resolve("uploads"));
            files = new LocalFileStore(store, dataDir, Clock.systemUTC());
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
        return new Backend(store, new EmbeddedApiKeys(store, Clock.systemUTC()), new IndexSecretStore(store), OutputKeys.none(),
                uploads, files, null, uploads, files);
    }

    private static Backend elasticsearch(FleetServerConfig config, String token, DaemonMetrics metrics) {
        OutputConfig out = config.output();
        EsClient client;
        try {
            client = new EsClient(new EsConfig(out.hosts(), out.protocol(), token,
                    out.caFiles().stream().map(p -> Path.of(p.toString())).toList(), out.headers(), out.timeout()), metrics);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("output.elasticsearch: " + e.getMessage(), e);
        }
        EsDocumentStore store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults());
        LOG.info("back end: Elasticsearch at {}", out.hosts());
        // Key calls share the connection pool with batched traffic; keep some connections for the batches.
        EsApiKeys apiKeys = new EsApiKeys(client, 120);
        EsRemoteClusters remotes = new EsRemoteClusters(out.timeout(), 16);
        return new Backend(store, apiKeys, new EsSecretStore(client, store), OutputKeys.of(apiKeys, remotes),
                new EsUploadStore(client, Clock.systemUTC()), new EsDeliveryStore(client), store::ensureFleetIndices, client,
                remotes);
    }

    /**
     * The service token from {@code service_token} or the file {@code service_token_path}.
     *
     * @throws ConfigException when there is none (also when the file from the original gives username and password,
     *                         which this server does not take) or the file cannot be read
     */
    public static String serviceToken(FleetServerConfig config) {
        OutputConfig out = config.output();
        String token = out.serviceToken();
        if ((token == null || token.isEmpty()) && out.serviceTokenPath() != null) {
            try {
                token = Files.readString(Path.of(out.serviceTokenPath().toString()), StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new ConfigException("output.elasticsearch.service_token_path: cannot read " + out.serviceTokenPath()
                        + ": " + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()), e);
            }
            if (token.isEmpty()) {
                throw new ConfigException("output.elasticsearch.service_token_path: " + out.serviceTokenPath() + " is empty");
            }
        }
        if (token == null || token.isEmpty()) {
            boolean basic = config.ignoredSettings().contains("output.elasticsearch.username")
                    || config.ignoredSettings().contains("output.elasticsearch.password");
            throw new ConfigException("output.elasticsearch: "
                    + (basic ? "username/password is not supported; a service token is required" : "a service token is required")
                    + " (service_token or service_token_path); create one with "
                    + "`bin/elasticsearch-service-tokens create elastic/fleet-server <name>`");
        }
        return token;
    }

    static CoreSettings coreSettings(FleetServerConfig config) {
        TimeoutsConfig t = config.server().timeouts();
        CoreSettings defaults = CoreSettings.defaults();
        var p = config.server().pbkdf2();
        CoreSettings settings = defaults
                .withCheckin(new CheckinSettings(t.checkinLongPoll(), t.checkinJitter(), t.checkinMaxPoll(), t.checkinTimestamp(),
                        defaults.checkin().flushInterval()))
                .withPbkdf2(p.iterations(), p.keyLength(), p.saltLength())
                .withApiKeyCache(config.cache().ttlApiKey(), config.cache().jitterApiKey())
                .withArtifactCache(new ArtifactCacheSettings(config.cache().maxCost(), config.cache().ttlArtifact()));
        if (config.output().isConfigured()) {
            String host = config.output().hosts().get(0);
            if (!host.contains("://")) {
                host = config.output().protocol() + "://" + host;
            }
            settings = new CoreSettings(settings.checkin(), settings.apiKeyTtl(), settings.apiKeyJitter(), settings.apiKeyCacheSize(),
                    settings.pbkdf2Iterations(), settings.pbkdf2KeyLength(), settings.pbkdf2SaltLength(),
                    CoreSettings.defaultOutputs(host), settings.artifactCache());
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
            if (OwnerOnly.openToOthers(file) && OwnerOnly.restrict(file)) {
                LOG.warn("{} was readable by other users; it is now readable by its owner only", file);
            }
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        }
        byte[] raw = new byte[32];
        new SecureRandom().nextBytes(raw);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        Path tmp = dataDir.resolve(MANAGEMENT_TOKEN_FILE + ".tmp");
        Files.deleteIfExists(tmp);
        OwnerOnly.createFile(tmp);
        Files.writeString(tmp, token + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return token;
    }

    /**
     * The id of the server's own agent document: {@code fleet.agent.id}, else the one kept in
     * {@code <data-dir>/agent-id} (made on first start), so that restarts keep it.
     */
    static String agentId(FleetServerConfig config, Path dataDir) throws IOException {
        if (config.agentId() != null && !config.agentId().isEmpty()) {
            return config.agentId();
        }
        Path file = dataDir.resolve(AGENT_ID_FILE);
        if (Files.exists(file)) {
            String id = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (!id.isEmpty() && DocumentIds.problem("agent id", id) == null) {
                return id;
            }
            LOG.warn("{} does not hold a valid agent id; making a new one", file);
        }
        String id = UUID.randomUUID().toString();
        Path tmp = dataDir.resolve(AGENT_ID_FILE + ".tmp");
        Files.deleteIfExists(tmp);
        OwnerOnly.createFile(tmp);
        Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return id;
    }

    /** Core has started and the listeners are bound: the server registers as its policy's agent, then is ready. */
    private void serving(FleetCore.Started started) {
        SelfMonitor.Settings settings = selfSettings;
        if (settings != null) {
            FleetServer listening = server;
            PolicySettings policySettings = new PolicySettings(config.server(),
                    listening.admission() == null ? null : listening.admission().limits(), listening::applyLimits);
            SelfMonitor self = core.startSelf(settings, policySettings);
            metrics.self(self::last);
        }
        ready.complete(started);
    }

    /**
     * What the server's own agent document says of it, worked out on the starting thread: reading the host (its name
     * may need a DNS lookup) and the data directory must not hold up the store's threads, which complete the start on
     * Elasticsearch. Null, with the reason logged, when the agent id cannot be kept.
     */
    private SelfMonitor.Settings selfSettings(FleetServerConfig config) {
        try {
            return new SelfMonitor.Settings(config.policyId(), agentId(config, dataDir),
                    FleetVersion.VERSION, HostFacts.detect(), ProcessHandle.current().pid(),
                    config.server().timeouts().checkinTimestamp(), config.logging().level(),
                    config.output().isConfigured() ? "Elasticsearch" : "embedded store");
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot register this server as a Fleet Server agent: {}", e.toString());
            return null;
        }
    }

    /**
     * Completes once the daemon serves agents, with what core's start found or made; at once on the embedded store.
     * Fails (with a {@link CancellationException}) when the daemon is stopped before.
     */
    public CompletableFuture<FleetCore.Started> ready() {
        return ready;
    }

    /** An enrollment token of the {@code default} policy; null before {@link #ready()} or when that policy does not exist. */
    public String enrollmentToken() {
        FleetCore.Started started = startedOrNull();
        return started == null ? null : started.enrollmentToken();
    }

    /** Whether {@link #enrollmentToken()}'s key was created by this start (so it has not been shown before). */
    public boolean enrollmentTokenCreated() {
        FleetCore.Started started = startedOrNull();
        return started != null && started.enrollmentTokenCreated();
    }

    private FleetCore.Started startedOrNull() {
        return ready.isDone() && !ready.isCompletedExceptionally() ? ready.join() : null;
    }

    /** The data directory, locked by this daemon until it stops. */
    public Path dataDir() {
        return dataDir;
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

    /** Graceful stop (also while waiting for Elasticsearch); releases the data directory last. Idempotent. */
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        Scheduler.Cancellable pending = retry;
        if (pending != null) {
            pending.cancel();
        }
        ready.completeExceptionally(new CancellationException("stopped"));
        try {
            if (server != null) {
                server.stop(drain);
            } else {
                core.stop();
            }
            core.close();
            scheduler.close();
            backend.close();
            if (metricsServer != null) {
                metricsServer.close();
            }
            metrics.close();
        } finally {
            lock.close();
        }
    }

    @Override
    public void close() {
        stop();
    }
}
