package dev.fleetserver.netty.config;

import java.util.Objects;

/**
 * The agent-facing API server, from {@code inputs[0].server.*}.
 *
 * <p>Also accepted there but not implemented (reported by {@link FleetServerConfig#ignoredSettings()}):
 * {@code profiler.*}, {@code runtime.*}, {@code bulk.*}, {@code gc.*}, {@code instrumentation.*},
 * {@code static_policy_tokens}, {@code feature_flags.*}.
 *
 * @param host                 bind host of the public API; default {@code 0.0.0.0}; {@code --host} overrides
 * @param port                 bind port of the public API, 0 = any free port; default 8220; {@code --port} overrides
 * @param internalPort         {@code internal_port} as written, or null: the original serves the same API on
 *                             {@code localhost:<internal_port>} (8221 when unset) for its supervising agent
 * @param timeouts             {@code timeouts.*}
 * @param compressionLevel     gzip level for checkin responses, -1 (library default) to 9; default 1 (fastest)
 * @param compressionThreshold smallest checkin response that is compressed, in bytes; default 1024
 * @param limits               {@code limits.*}
 * @param ssl                  {@code ssl.*}
 * @param pbkdf2               {@code pdkdf2.*}
 * @param pgp                  {@code pgp.*}
 */
public record ServerConfig(
        String host,
        int port,
        Integer internalPort,
        TimeoutsConfig timeouts,
        int compressionLevel,
        int compressionThreshold,
        LimitsConfig limits,
        SslConfig ssl,
        Pbkdf2Config pbkdf2,
        PgpConfig pgp) {

    public static final String DEFAULT_HOST = "0.0.0.0";
    public static final int DEFAULT_PORT = 8220;

    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(timeouts, "timeouts");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(ssl, "ssl");
        Objects.requireNonNull(pbkdf2, "pbkdf2");
        Objects.requireNonNull(pgp, "pgp");
        checkPort(port, "port");
        if (internalPort != null) {
            checkPort(internalPort, "internalPort");
        }
        if (compressionLevel < -1 || compressionLevel > 9) {
            throw new IllegalArgumentException("compressionLevel must be between -1 and 9: " + compressionLevel);
        }
        if (compressionThreshold < 0) {
            throw new IllegalArgumentException("compressionThreshold must not be negative: " + compressionThreshold);
        }
    }

    public static ServerConfig defaults() {
        return read(Section.empty());
    }

    /** A copy listening on another host and port. */
    public ServerConfig withAddress(String host, int port) {
        return new ServerConfig(host, port, internalPort, timeouts, compressionLevel, compressionThreshold, limits,
                ssl, pbkdf2, pgp);
    }

    private static void checkPort(int port, String name) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(name + " must be between 0 and 65535: " + port);
        }
    }

    static ServerConfig read(Section s) {
        String host = s.string("host", DEFAULT_HOST);
        int port = s.port("port", DEFAULT_PORT);
        Integer internalPort = s.optionalInteger("internal_port", 0, 65535);
        TimeoutsConfig timeouts = TimeoutsConfig.read(s.section("timeouts"));
        int compressionLevel = s.integer("compression_level", 1, -1, 9);
        int compressionThreshold = s.integer("compression_threshold", 1024, 0, Integer.MAX_VALUE);
        LimitsConfig limits = LimitsConfig.read(s.section("limits"));
        boolean sslPresent = s.has("ssl");
        SslConfig ssl = SslConfig.read(s.section("ssl"), sslPresent);
        Pbkdf2Config pbkdf2 = Pbkdf2Config.read(s.section("pdkdf2"));

        s.ignoreSection("profiler", "enabled", "bind");
        s.ignoreSection("runtime", "gc_percent", "memory_limit");
        Section bulk = s.section("bulk");
        bulk.ignore("flush_interval", "flush_threshold_cnt", "flush_threshold_size", "flush_max_pending",
                "max_pending_bulk_dispatches");
        bulk.ignoreSection("enroll", "flush_interval", "flush_threshold_cnt");
        bulk.finish();
        s.ignoreSection("gc", "schedule_interval", "cleanup_after_expired_interval");
        Section instrumentation = s.section("instrumentation");
        instrumentation.ignore("enabled", "environment", "api_key", "api_key_path", "secret_token",
                "secret_token_path", "hosts", "global_labels", "transaction_sample_rate");
        instrumentation.ignoreSection("tls", "skip_verify", "server_certificate", "server_ca");
        instrumentation.finish();
        s.ignoreSection("static_policy_tokens", "enabled", "policy_tokens");
        PgpConfig pgp = PgpConfig.read(s.section("pgp"));
        Section features = s.section("feature_flags");
        features.ignore("ignore_checkin_policy_id", "enable_opamp");
        features.ignoreSection("graceful_force_unenroll", "enabled", "max_bytes");
        features.finish();
        s.finish();
        return new ServerConfig(host, port, internalPort, timeouts, compressionLevel, compressionThreshold, limits,
                ssl, pbkdf2, pgp);
    }
}
