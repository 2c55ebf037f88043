package dev.fleetserver.netty.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * TLS for the agent-facing listener, from {@code inputs[0].server.ssl.*} (elastic-agent-libs' server TLS layout).
 * Parsed and validated; nothing serves TLS from it yet.
 *
 * <p>As in elastic-agent-libs, TLS is on as soon as an {@code ssl} mapping is present unless it says
 * {@code enabled: false}, and client authentication defaults to {@code required} when certificate authorities
 * are given, {@code none} otherwise. Accepted but not implemented: {@code verification_mode} (other than
 * {@code full}), {@code curve_types}, {@code ca_sha256}, {@code renegotiation}, {@code certificate_reload.*}.
 *
 * @param enabled                whether the listener speaks TLS
 * @param certificate            server certificate: a PEM file path or inline PEM; required when enabled
 * @param key                    private key: a PEM file path or inline PEM; required when enabled
 * @param keyPassphrase          passphrase of the key, or null
 * @param keyPassphrasePath      file holding the passphrase of the key, or null
 * @param certificateAuthorities CAs that sign client certificates (paths or inline PEM)
 * @param clientAuthentication   whether clients must present a certificate
 * @param supportedProtocols     JSSE protocol names ({@code TLSv1.2}, {@code TLSv1.3}; the file's
 *                               {@code TLSv1.0} becomes {@code TLSv1}); empty = the runtime's defaults
 * @param cipherSuites           as written (elastic-agent-libs names); empty = the runtime's defaults
 */
public record SslConfig(
        boolean enabled,
        String certificate,
        String key,
        String keyPassphrase,
        Path keyPassphrasePath,
        List<String> certificateAuthorities,
        ClientAuthentication clientAuthentication,
        List<String> supportedProtocols,
        List<String> cipherSuites) {

    /** What {@code client_authentication} asks of clients. */
    public enum ClientAuthentication { NONE, OPTIONAL, REQUIRED }

    public static final SslConfig DISABLED = new SslConfig(
            false, null, null, null, null, List.of(), ClientAuthentication.NONE, List.of(), List.of());

    private static final Map<String, String> PROTOCOLS = Map.of(
            "tlsv1", "TLSv1", "tlsv1.0", "TLSv1", "tlsv1.1", "TLSv1.1", "tlsv1.2", "TLSv1.2", "tlsv1.3", "TLSv1.3");

    public SslConfig {
        certificateAuthorities = List.copyOf(certificateAuthorities);
        supportedProtocols = List.copyOf(supportedProtocols);
        cipherSuites = List.copyOf(cipherSuites);
        if (enabled && (certificate == null || key == null)) {
            throw new IllegalArgumentException("TLS needs a certificate and a key");
        }
    }

    /** Never prints the key or its passphrase. */
    @Override
    public String toString() {
        return "SslConfig[enabled=" + enabled + ", certificate=" + abbreviate(certificate)
                + ", key=" + (key == null ? null : "[redacted]")
                + ", keyPassphrase=" + (keyPassphrase == null ? null : "[redacted]")
                + ", keyPassphrasePath=" + keyPassphrasePath
                + ", certificateAuthorities=" + certificateAuthorities.stream().map(SslConfig::abbreviate).toList()
                + ", clientAuthentication=" + clientAuthentication + ", supportedProtocols=" + supportedProtocols
                + ", cipherSuites=" + cipherSuites + "]";
    }

    private static String abbreviate(String pemOrPath) {
        return pemOrPath != null && pemOrPath.contains("-----BEGIN") ? "[inline PEM]" : pemOrPath;
    }

    /** @return {@link #DISABLED} when {@code present} is false (no {@code ssl} mapping in the file) */
    static SslConfig read(Section s, boolean present) {
        boolean enabled = s.bool("enabled", present);
        String certificate = s.optionalString("certificate");
        String key = s.optionalString("key");
        String keyPassphrase = s.optionalString("key_passphrase");
        Path keyPassphrasePath = s.optionalPath("key_passphrase_path");
        List<String> authorities = s.stringList("certificate_authorities");
        ClientAuthentication clientAuthentication = ClientAuthentication.valueOf(s.choice("client_authentication",
                authorities.isEmpty() ? "none" : "required", List.of("none", "optional", "required"))
                .toUpperCase(Locale.ROOT));
        List<String> protocols = new ArrayList<>();
        for (String protocol : s.stringList("supported_protocols")) {
            String name = PROTOCOLS.get(protocol.toLowerCase(Locale.ROOT));
            if (name == null) {
                throw ConfigException.at(s.pathOf("supported_protocols"),
                        "expected TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3, got " + Section.quote(protocol));
            }
            protocols.add(name);
        }
        List<String> cipherSuites = s.stringList("cipher_suites");
        s.ignoreUnless("verification_mode", "full");
        s.ignore("curve_types", "ca_sha256", "renegotiation");
        s.ignoreSection("certificate_reload", "enabled", "reload_interval");
        s.finish();
        if (!enabled) {
            return DISABLED;
        }
        if (certificate == null || key == null) {
            throw ConfigException.at(s.path(), "certificate and key are required when ssl is enabled");
        }
        return new SslConfig(true, certificate, key, keyPassphrase, keyPassphrasePath, authorities,
                clientAuthentication, protocols, cipherSuites);
    }
}
