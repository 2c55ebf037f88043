package dev.fleetserver.netty.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * TLS for a listener, from {@code inputs[0].server.ssl.*} (the agent listener) or {@code management.ssl.*}, in
 * elastic-agent-libs' server TLS layout.
 * Served by {@code dev.fleetserver.netty.tls.ServerTls}.
 *
 * <p>As in elastic-agent-libs, TLS is on as soon as an {@code ssl} mapping is present unless it says
 * {@code enabled: false}, and client authentication defaults to {@code required} when certificate authorities
 * are given, {@code none} otherwise. Accepted but not implemented: {@code verification_mode} (other than
 * {@code full}), {@code curve_types}, {@code ca_sha256}, {@code renegotiation}.
 *
 * <p>Unlike elastic-agent-libs, {@code certificate_reload.enabled} defaults to true: re-reading a few small files
 * every {@code reload_interval} costs nothing, and a rotated certificate should not need a restart.
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
 * @param cipherSuites           IANA names ({@code TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}), translated from the
 *                               elastic-agent-libs names of the file ({@code ECDHE-RSA-AES-128-GCM-SHA256});
 *                               empty = the runtime's defaults
 * @param reload                 whether the certificate, key and CA files are watched and re-read when they change
 * @param reloadInterval         how often they are checked; default 5 s
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
        List<String> cipherSuites,
        boolean reload,
        Duration reloadInterval) {

    /** What {@code client_authentication} asks of clients. */
    public enum ClientAuthentication { NONE, OPTIONAL, REQUIRED }

    public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(5);

    public static final SslConfig DISABLED = new SslConfig(false, null, null, null, null, List.of(),
            ClientAuthentication.NONE, List.of(), List.of(), true, DEFAULT_RELOAD_INTERVAL);

    private static final Map<String, String> PROTOCOLS = Map.of(
            "tlsv1", "TLSv1", "tlsv1.0", "TLSv1", "tlsv1.1", "TLSv1.1", "tlsv1.2", "TLSv1.2", "tlsv1.3", "TLSv1.3");

    /** elastic-agent-libs cipher suite names (lower case) to IANA names; the IANA names are accepted as well. */
    private static final Map<String, String> CIPHER_SUITES = ianaCipherSuites();

    public SslConfig {
        if (reloadInterval == null || reloadInterval.isNegative() || reloadInterval.isZero()) {
            throw new IllegalArgumentException("reloadInterval must be positive: " + reloadInterval);
        }
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
                + ", cipherSuites=" + cipherSuites + ", reload=" + reload + ", reloadInterval=" + reloadInterval + "]";
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
        List<String> cipherSuites = new ArrayList<>();
        for (String suite : s.stringList("cipher_suites")) {
            String name = CIPHER_SUITES.get(suite.toLowerCase(Locale.ROOT));
            if (name == null) {
                throw ConfigException.at(s.pathOf("cipher_suites"), "unknown cipher suite " + Section.quote(suite)
                        + " (use the names of elastic-agent-libs, e.g. ECDHE-RSA-AES-128-GCM-SHA256, or IANA names)");
            }
            cipherSuites.add(name);
        }
        s.ignoreUnless("verification_mode", "full");
        s.ignore("curve_types", "ca_sha256", "renegotiation");
        Section reloadSection = s.section("certificate_reload");
        boolean reload = reloadSection.bool("enabled", true);
        Duration reloadInterval = reloadSection.duration("reload_interval", DEFAULT_RELOAD_INTERVAL);
        if (reloadInterval.isZero()) {
            throw ConfigException.at(reloadSection.pathOf("reload_interval"), "expected a duration above zero");
        }
        reloadSection.finish();
        s.finish();
        if (!enabled) {
            return DISABLED;
        }
        if (certificate == null || key == null) {
            throw ConfigException.at(s.path(), "certificate and key are required when ssl is enabled");
        }
        return new SslConfig(true, certificate, key, keyPassphrase, keyPassphrasePath, authorities,
                clientAuthentication, protocols, cipherSuites, reload, reloadInterval);
    }

    private static Map<String, String> ianaCipherSuites() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kx : List.of("ECDHE-ECDSA", "ECDHE-RSA", "RSA")) {
            String iana = "TLS_" + kx.replace('-', '_') + "_WITH_";
            for (String bulk : List.of("AES-128-CBC-SHA", "AES-128-CBC-SHA256", "AES-128-GCM-SHA256",
                    "AES-256-CBC-SHA", "AES-256-GCM-SHA384", "RC4-128-SHA")) {
                m.put(kx + "-" + bulk, iana + bulk.replace('-', '_'));
            }
            m.put(kx + "-3DES-CBC3-SHA", iana + "3DES_EDE_CBC_SHA");
        }
        m.put("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
        m.put("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        // elastic-agent-libs documents this misspelling; accept it as the suite it means.
        m.put("ECDHE-RSA-CHACHA20-POLY1205", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        m.put("TLS-AES-128-GCM-SHA256", "TLS_AES_128_GCM_SHA256");
        m.put("TLS-AES-256-GCM-SHA384", "TLS_AES_256_GCM_SHA384");
        m.put("TLS-CHACHA20-POLY1305-SHA256", "TLS_CHACHA20_POLY1305_SHA256");
        Map<String, String> byName = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : m.entrySet()) {
            byName.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue());
            byName.put(e.getValue().toLowerCase(Locale.ROOT), e.getValue());
        }
        return Map.copyOf(byName);
    }
}
