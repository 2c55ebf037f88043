package dev.fleetserver.netty;

import dev.fleetserver.core.CoreSettings;
import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.checkin.CheckinSettings;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.embedded.EmbeddedApiKeys;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.ExecutorScheduler;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.config.TimeoutsConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Fleet Server: store, core and listeners, built from a {@link FleetServerConfig}. {@link #stop()} shuts
 * down in the safe order (listeners and parked checkins, pending writes, then the store).
 */
public final class FleetDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FleetDaemon.class);
    static final String MANAGEMENT_TOKEN_FILE = "management-token";

    private final DocumentStore store;
    private final ExecutorScheduler scheduler;
    private final FleetCore core;
    private final FleetServer server;
    private final String enrollmentToken;
    private final String managementToken;
    private final Duration drain;
    private boolean stopped;

    private FleetDaemon(DocumentStore store, ExecutorScheduler scheduler, FleetCore core, FleetServer server,
                        String enrollmentToken, String managementToken, Duration drain) {
        this.store = store;
        this.scheduler = scheduler;
        this.core = core;
        this.server = server;
        this.enrollmentToken = enrollmentToken;
        this.managementToken = managementToken;
        this.drain = drain;
    }

    /** Starts everything; on failure releases what was started and rethrows. */
    public static FleetDaemon start(FleetServerConfig config) throws Exception {
        if (config.output().isConfigured()) {
            LOG.warn("output.elasticsearch is configured, but the Elasticsearch back end is not available in this build: "
                    + "using the embedded store in {}", config.embedded().dataDir());
        }
        for (String ignored : config.ignoredSettings()) {
            LOG.warn("setting {} is accepted for compatibility but not implemented; it has no effect", ignored);
        }
        Path dataDir = config.embedded().dataDir();
        DocumentStore store = SqliteDocumentStore.open(dataDir);
        ExecutorScheduler scheduler = new ExecutorScheduler("fleet-scheduler");
        FleetCore core = null;
        try {
            core = new FleetCore(store, new EmbeddedApiKeys(store, Clock.systemUTC()), coreSettings(config),
                    Clock.systemUTC(), scheduler);
            String token = core.start().get(60, TimeUnit.SECONDS);
            String managementToken = managementToken(config, dataDir);
            var s = config.server();
            var m = config.management();
            FleetServer server = FleetServer.start(new FleetServer.Options(s.host(), s.port(), m.host(),
                    m.enabled() ? m.port() : -1, managementToken, s.limits().maxHeaderByteSize(), s.timeouts().idle(),
                    s.compressionLevel(), s.compressionThreshold()), core);
            return new FleetDaemon(store, scheduler, core, server, token, managementToken, s.timeouts().drain());
        } catch (Exception e) {
            if (core != null) {
                core.close();
            }
            scheduler.close();
            store.close();
            throw e;
        }
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

    public DocumentStore store() {
        return store;
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
        store.close();
    }

    @Override
    public void close() {
        stop();
    }
}
