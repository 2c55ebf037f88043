package dev.fleetserver.netty.config;

import java.util.List;
import java.util.Objects;

/**
 * Everything the server is configured with, read by {@link ConfigLoader} from a file in the original's
 * {@code fleet-server.yml} layout plus command-line flags. Immutable.
 *
 * @param server          {@code inputs[0].server.*} with {@code --host}/{@code --port} applied
 * @param output          {@code output.elasticsearch.*}; not {@linkplain OutputConfig#isConfigured() configured}
 *                        means the embedded store
 * @param http            {@code http.*} (metrics endpoint)
 * @param logging         {@code logging.*}
 * @param management      {@code management.*} with {@code --management-host}/{@code --management-port} applied
 * @param embedded        {@code embedded.*} with {@code --data-dir} applied
 * @param cache           {@code inputs[0].cache.*}: the artifact cache
 * @param policyId        {@code inputs[0].policy.id}, or null
 * @param agentId         {@code fleet.agent.id}: the id of the server's own agent document, or null to use the one
 *                        kept in the data directory
 * @param ignoredSettings full paths of the settings present in the file that the original knows but this server
 *                        does not implement yet, in a stable order, e.g. {@code inputs[0].server.bulk.flush_interval};
 *                        {@code main} logs a warning for each
 */
public record FleetServerConfig(
        ServerConfig server,
        OutputConfig output,
        HttpConfig http,
        LoggingConfig logging,
        ManagementConfig management,
        EmbeddedConfig embedded,
        CacheConfig cache,
        String policyId,
        String agentId,
        List<String> ignoredSettings) {

    public FleetServerConfig {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(http, "http");
        Objects.requireNonNull(logging, "logging");
        Objects.requireNonNull(management, "management");
        Objects.requireNonNull(embedded, "embedded");
        Objects.requireNonNull(cache, "cache");
        ignoredSettings = List.copyOf(ignoredSettings);
    }

    /** The configuration of a server started without file or flags. */
    public static FleetServerConfig defaults() {
        return new FleetServerConfig(ServerConfig.defaults(), OutputConfig.defaults(), HttpConfig.defaults(),
                LoggingConfig.defaults(), ManagementConfig.defaults(), EmbeddedConfig.defaults(), CacheConfig.defaults(), null,
                null, List.of());
    }
}
