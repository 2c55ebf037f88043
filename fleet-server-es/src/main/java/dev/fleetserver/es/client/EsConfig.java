package dev.fleetserver.es.client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How to reach the cluster ({@code output.elasticsearch.*} of {@code fleet-server.yml}).
 *
 * @param hosts        {@code host:port} or full URLs; a bare host gets {@code protocol}
 * @param serviceToken the {@code elastic/fleet-server} service account token sent as {@code Bearer}
 * @param caFiles      PEM certificate authorities to trust for HTTPS (empty: the JVM's defaults)
 * @param timeout      response timeout of ordinary requests
 */
public record EsConfig(List<String> hosts, String protocol, String serviceToken, List<Path> caFiles,
                       Map<String, String> headers, Duration timeout) {
}
