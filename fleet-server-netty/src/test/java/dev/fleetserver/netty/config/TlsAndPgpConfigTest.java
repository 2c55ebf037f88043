package dev.fleetserver.netty.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code inputs[0].server.ssl} beyond the basics, {@code management.ssl}, and {@code inputs[0].server.pgp}. */
class TlsAndPgpConfigTest {
    private static FleetServerConfig load(String yaml) {
        return ConfigLoader.load(ConfigLoader.parseYaml(yaml), Map.of(), Map.of());
    }

    private static SslConfig ssl(String sslYaml) {
        return load("inputs:\n  - server:\n      ssl:\n" + sslYaml.indent(8)).server().ssl();
    }

    @Test
    void cipherSuitesAreReadWithTheNamesOfElasticAgentLibsOrIana() {
        SslConfig ssl = ssl("""
                certificate: /c.pem
                key: /k.pem
                cipher_suites: [ECDHE-RSA-AES-128-GCM-SHA256, ECDHE-ECDSA-CHACHA20-POLY1305, RSA-3DES-CBC3-SHA,
                                TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS-AES-128-GCM-SHA256]
                """);
        assertThat(ssl.cipherSuites()).containsExactly("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256");
    }

    @Test
    void anUnknownCipherSuiteFailsFast() {
        assertThatThrownBy(() -> ssl("""
                certificate: /c.pem
                key: /k.pem
                cipher_suites: [ECDHE-RSA-AES-512-GCM]
                """)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("inputs[0].server.ssl.cipher_suites: unknown cipher suite \"ECDHE-RSA-AES-512-GCM\"");
    }

    @Test
    void certificateReloadIsOnEveryFiveSecondsUnlessConfigured() {
        SslConfig defaults = ssl("certificate: /c.pem\nkey: /k.pem\n");
        assertThat(defaults.reload()).isTrue();
        assertThat(defaults.reloadInterval()).isEqualTo(Duration.ofSeconds(5));

        SslConfig configured = ssl("""
                certificate: /c.pem
                key: /k.pem
                certificate_reload: {enabled: false, reload_interval: 1m}
                """);
        assertThat(configured.reload()).isFalse();
        assertThat(configured.reloadInterval()).isEqualTo(Duration.ofMinutes(1));

        assertThatThrownBy(() -> ssl("certificate: /c.pem\nkey: /k.pem\ncertificate_reload: {reload_interval: 0s}\n"))
                .hasMessageContaining("certificate_reload.reload_interval");
        assertThatThrownBy(() -> ssl("certificate: /c.pem\nkey: /k.pem\ncertificate_reload: {every: 1s}\n"))
                .hasMessageContaining("unknown setting \"inputs[0].server.ssl.certificate_reload.every\"");
    }

    @Test
    void anUnknownSslKeyFailsFast() {
        assertThatThrownBy(() -> ssl("certificate: /c.pem\nkey: /k.pem\nkey_pasphrase: x\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown setting \"inputs[0].server.ssl.key_pasphrase\"");
    }

    @Test
    void theManagementListenerTakesTlsInTheAgentListenersLayoutAndIsPlainWithoutIt() {
        assertThat(load("management: {port: 8221}").management().ssl()).isEqualTo(SslConfig.DISABLED);
        assertThat(load("management: {ssl: {enabled: false}}").management().ssl()).isEqualTo(SslConfig.DISABLED);

        FleetServerConfig config = load("""
                management:
                  ssl:
                    certificate: /etc/fleet-server/console.crt
                    key: /etc/fleet-server/console.key
                    supported_protocols: [TLSv1.3]
                """);
        SslConfig ssl = config.management().ssl();
        assertThat(ssl.enabled()).isTrue();
        assertThat(ssl.certificate()).isEqualTo("/etc/fleet-server/console.crt");
        assertThat(ssl.supportedProtocols()).containsExactly("TLSv1.3");
        assertThat(ssl.clientAuthentication()).isEqualTo(SslConfig.ClientAuthentication.NONE);
        assertThat(config.server().ssl()).isEqualTo(SslConfig.DISABLED);
        assertThat(config.management().toString()).contains("ssl=SslConfig[enabled=true");

        assertThatThrownBy(() -> load("management: {ssl: {certificate: /c.pem, key: /k.pem, cipher_suites: [NOPE]}}"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("management.ssl.cipher_suites: unknown cipher suite");
        assertThatThrownBy(() -> load("management: {ssl: {enabled: true}}"))
                .hasMessageContaining("management.ssl").hasMessageContaining("certificate");
    }

    @Test
    void theKeyAndItsPassphraseNeverAppearInToString() {
        SslConfig ssl = ssl("certificate: /c.pem\nkey: \"-----BEGIN PRIVATE KEY-----\\nMIIE\\n\"\nkey_passphrase: hunter2\n");
        assertThat(ssl.toString()).doesNotContain("hunter2").doesNotContain("MIIE");
    }

    @Test
    void pgpDefaultsToTheElasticKeyAndADirectoryInTheDataDir() {
        PgpConfig pgp = load("{}").server().pgp();
        assertThat(pgp.upstreamUrl()).isEqualTo(URI.create("https://artifacts.elastic.co/GPG-KEY-elastic-agent"));
        assertThat(pgp.dirOr(Path.of("/var/lib/fleet-server")))
                .isEqualTo(Path.of("/var/lib/fleet-server/elastic-agent-upgrade-keys"));
    }

    @Test
    void pgpSettingsAreReadAndCheckedAsTheOriginalNamesThem() {
        PgpConfig pgp = load("""
                inputs:
                  - server:
                      pgp: {upstream_url: "https://mirror.example.com/key.asc", dir: /etc/fleet-server/keys}
                """).server().pgp();
        assertThat(pgp.upstreamUrl()).isEqualTo(URI.create("https://mirror.example.com/key.asc"));
        assertThat(pgp.dirOr(Path.of("/data"))).isEqualTo(Path.of("/etc/fleet-server/keys"));

        assertThatThrownBy(() -> load("inputs: [{server: {pgp: {upstream_url: \"ftp://x/key\"}}}]"))
                .hasMessageStartingWith("inputs[0].server.pgp.upstream_url: expected an http or https URL");
        assertThatThrownBy(() -> load("inputs: [{server: {pgp: {directory: /x}}}]"))
                .hasMessageContaining("unknown setting \"inputs[0].server.pgp.directory\"");
    }
}
