package dev.fleetserver.netty.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The Elasticsearch cluster holding the Fleet indices, from {@code output.elasticsearch.*}. Unlike the original,
 * which defaults to {@code localhost:9200}, no hosts means "no Elasticsearch": the server then keeps its data in
 * the embedded store ({@link EmbeddedConfig}).
 *
 * <p>Also accepted there but not implemented: {@code path}, {@code username}, {@code password}, {@code api_key},
 * {@code proxy_url}, {@code proxy_disable}, {@code proxy_headers}, {@code max_retries}, {@code max_conn_per_host},
 * {@code max_content_length}, and under {@code ssl}: {@code verification_mode} (other than {@code full}),
 * {@code certificate}, {@code key}, {@code key_passphrase}, {@code key_passphrase_path},
 * {@code supported_protocols}, {@code cipher_suites}, {@code curve_types}, {@code ca_sha256},
 * {@code ca_trusted_fingerprint}, {@code renegotiation}.
 *
 * @param hosts            {@code host:port} or URLs; a host without a scheme uses {@code protocol}
 * @param protocol         {@code http} (default) or {@code https}
 * @param serviceToken     service account token sent as bearer, or null
 * @param serviceTokenPath file holding the token, read when {@code serviceToken} is null; or null
 * @param caFiles          {@code ssl.certificate_authorities}: CA certificates to trust (empty = the JVM's);
 *                         empty when {@code ssl.enabled: false}
 * @param headers          extra headers sent with every request
 * @param timeout          how long to wait for response headers; default 90s
 */
public record OutputConfig(
        List<String> hosts,
        String protocol,
        String serviceToken,
        Path serviceTokenPath,
        List<Path> caFiles,
        Map<String, String> headers,
        Duration timeout) {

    public OutputConfig {
        hosts = List.copyOf(hosts);
        Objects.requireNonNull(protocol, "protocol");
        caFiles = List.copyOf(caFiles);
        headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        Objects.requireNonNull(timeout, "timeout");
    }

    public static OutputConfig defaults() {
        return read(Section.empty());
    }

    /** Whether an Elasticsearch cluster is configured (hosts are given); otherwise the embedded store is used. */
    public boolean isConfigured() {
        return !hosts.isEmpty();
    }

    /** Never prints the service token. */
    @Override
    public String toString() {
        return "OutputConfig[hosts=" + hosts + ", protocol=" + protocol
                + ", serviceToken=" + (serviceToken == null ? null : "[redacted]")
                + ", serviceTokenPath=" + serviceTokenPath + ", caFiles=" + caFiles
                + ", headers=" + headers.keySet() + ", timeout=" + timeout + "]";
    }

    /** Reads {@code output}, whose only allowed key is {@code elasticsearch}, as in the original. */
    static OutputConfig read(Section output) {
        Section s = output.section("elasticsearch");
        output.finish();
        List<String> hosts = s.stringList("hosts");
        String protocol = s.choice("protocol", "http", List.of("http", "https"));
        String serviceToken = s.optionalString("service_token");
        Path serviceTokenPath = s.optionalPath("service_token_path");
        Map<String, String> headers = s.stringMap("headers");
        Duration timeout = s.duration("timeout", Duration.ofSeconds(90));
        s.ignore("path", "username", "password", "api_key", "proxy_url", "proxy_disable", "proxy_headers",
                "max_retries", "max_conn_per_host", "max_content_length");

        Section ssl = s.section("ssl");
        boolean sslEnabled = ssl.bool("enabled", true);
        List<Path> authorities = ssl.pathList("certificate_authorities");
        ssl.ignoreUnless("verification_mode", "full");
        ssl.ignore("certificate", "key", "key_passphrase", "key_passphrase_path", "supported_protocols",
                "cipher_suites", "curve_types", "ca_sha256", "ca_trusted_fingerprint", "renegotiation");
        ssl.finish();
        s.finish();

        return new OutputConfig(hosts, protocol, serviceToken, serviceTokenPath,
                sslEnabled ? authorities : List.of(), headers, timeout);
    }
}
