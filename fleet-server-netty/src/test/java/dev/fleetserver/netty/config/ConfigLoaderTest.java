package dev.fleetserver.netty.config;

import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

    @Test
    void defaultsApplyWhenThereIsNoFileAndNoFlags() {
        FleetServerConfig config = ConfigLoader.load(new String[0], Map.of());

        ServerConfig server = config.server();
        assertThat(server.host()).isEqualTo("0.0.0.0");
        assertThat(server.port()).isEqualTo(8220);
        assertThat(server.internalPort()).isNull();
        assertThat(server.timeouts()).isEqualTo(new TimeoutsConfig(Duration.ofSeconds(60), Duration.ofSeconds(5),
                Duration.ofMinutes(10), Duration.ofSeconds(35), Duration.ofMinutes(5), Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofHours(1), Duration.ofSeconds(10)));
        assertThat(server.compressionLevel()).isEqualTo(1);
        assertThat(server.compressionThreshold()).isEqualTo(1024);
        assertThat(server.limits().maxAgents()).isZero();
        assertThat(server.limits().maxHeaderByteSize()).isEqualTo(8192);
        assertThat(server.limits().maxConnections()).isZero();
        assertThat(server.limits().routes()).containsOnlyKeys(LimitsConfig.ROUTES)
                .allSatisfy((route, limit) -> assertThat(limit.isUnset()).isTrue());
        assertThat(server.ssl()).isEqualTo(SslConfig.DISABLED);
        assertThat(server.pbkdf2()).isEqualTo(new Pbkdf2Config(210_000, 32, 64));

        assertThat(config.output().isConfigured()).isFalse();
        assertThat(config.output().protocol()).isEqualTo("http");
        assertThat(config.output().timeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(config.http()).isEqualTo(new HttpConfig(false, "localhost", 5066));
        assertThat(config.logging()).isEqualTo(new LoggingConfig("info", false, true, false, null));
        assertThat(config.management()).isEqualTo(new ManagementConfig(true, "127.0.0.1", 8221, null));
        assertThat(config.embedded().dataDir()).isEqualTo(Path.of("./data"));
        assertThat(config.policyId()).isNull();
        assertThat(config.ignoredSettings()).isEmpty();
        assertThat(config).isEqualTo(FleetServerConfig.defaults());
    }

    @Test
    void aTypicalOriginalFleetServerYmlLoadsUnchanged() throws Exception {
        FleetServerConfig config = ConfigLoader.load(
                new String[] {"--config", resource("fleet-server.yml").toString()}, Map.of());

        OutputConfig output = config.output();
        assertThat(output.isConfigured()).isTrue();
        assertThat(output.hosts()).containsExactly("es01.example.internal:9200", "es02.example.internal:9200");
        assertThat(output.protocol()).isEqualTo("https");
        assertThat(output.serviceToken()).isEqualTo("AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuLTE6c2VjcmV0");
        assertThat(output.caFiles()).containsExactly(Path.of("/etc/pki/root/ca.pem"));
        assertThat(config.policyId()).isEqualTo("fleet-server-policy");

        ServerConfig server = config.server();
        assertThat(server.host()).isEqualTo("0.0.0.0");
        assertThat(server.port()).isEqualTo(8220);
        assertThat(server.timeouts().idle()).isEqualTo(Duration.ofSeconds(30));
        assertThat(server.timeouts().write()).isEqualTo(Duration.ofMinutes(10));
        assertThat(server.limits().maxAgents()).isEqualTo(2500);
        assertThat(server.limits().route("checkin"))
                .isEqualTo(new RouteLimitConfig(Duration.ofMillis(1), 1000, 0, 1_048_576, 0));
        assertThat(server.limits().route("enroll"))
                .isEqualTo(new RouteLimitConfig(Duration.ofMillis(10), 100, 50, 524_288, 0));
        assertThat(server.limits().route("ack").isUnset()).isTrue();

        assertThat(config.logging()).isEqualTo(
                new LoggingConfig("info", false, false, true, Path.of("/var/log/fleet-server"), "fleet-server.log", 7,
                        10L * 1024 * 1024));
        assertThat(config.http()).isEqualTo(new HttpConfig(true, "localhost", 5066));
        // The server's own agent document takes this id.
        assertThat(config.agentId()).isEqualTo("fleet-server-agent-id");
        assertThat(config.ignoredSettings()).containsExactly(
                "inputs[0].server.bulk.flush_interval",
                "inputs[0].server.bulk.flush_threshold_cnt",
                "inputs[0].cache.num_counters",
                "inputs[0].monitor.fetch_size",
                "output.elasticsearch.max_retries",
                "output.elasticsearch.max_conn_per_host");
    }

    @Test
    void theOriginalDevelopmentFileLoadsWithItsEnvironmentDefaults() throws Exception {
        FleetServerConfig config = ConfigLoader.load(
                new String[] {"--config", resource("fleet-server-dev.yml").toString()}, Map.of());

        assertThat(config.output().hosts()).containsExactly("localhost:9200");
        assertThat(config.logging().level()).isEqualTo("debug");
        assertThat(config.http().enabled()).isTrue();
        assertThat(config.ignoredSettings()).contains("output.elasticsearch.username",
                "output.elasticsearch.password", "runtime.gc_percent", "logging.pretty");
    }

    @Test
    void everySettingOfTheOriginalReferenceFileIsAccepted() throws Exception {
        FleetServerConfig config = ConfigLoader.load(
                new String[] {"--config", resource("fleet-server-every-key.yml").toString()}, Map.of());

        assertThat(config.server().internalPort()).isEqualTo(8221);
        assertThat(config.server().ssl().enabled()).isTrue();
        assertThat(config.server().ssl().supportedProtocols()).containsExactly("TLSv1.2", "TLSv1.3");
        assertThat(config.server().ssl().keyPassphrasePath()).isEqualTo(Path.of("/creds/key.pass"));
        assertThat(config.server().limits().route("opamp").maxBodyByteSize()).isEqualTo(3_145_728);
        assertThat(config.server().limits().route("checkin").maxBodyDecompressed()).isEqualTo(20_971_520);
        assertThat(config.server().limits().route("action").interval()).isEqualTo(Duration.ZERO);
        assertThat(config.server().limits().maxFileStorageSize()).isEqualTo(104_857_600L);
        assertThat(config.output().headers()).containsExactly(Map.entry("X-Custom.Header", "value"));
        assertThat(config.output().serviceTokenPath()).isEqualTo(Path.of("/path/to/service-token"));
        assertThat(config.management()).isEqualTo(new ManagementConfig(true, "127.0.0.1", 8321, null,
                new ConsoleConfig(true, Duration.ofHours(4), Duration.ofMinutes(2))));
        assertThat(config.embedded().dataDir()).isEqualTo(Path.of("/var/lib/fleet-server"));
        assertThat(config.ignoredSettings()).contains(
                "inputs[0].server.static_policy_tokens.enabled",
                "inputs[0].server.feature_flags.graceful_force_unenroll.max_bytes",
                "output.elasticsearch.ssl.verification_mode",
                "logging.metrics.period")
                .doesNotContain("inputs[0].server.ssl.verification_mode", "output.elasticsearch.ssl.enabled",
                        "inputs[0].server.ssl.certificate_reload.enabled", "inputs[0].server.pgp.dir");
    }

    @Test
    void anUnknownSettingFailsNamingItsPathAndTheLikelyIntendedOne() {
        assertThatThrownBy(() -> load("""
                inputs:
                  - type: fleet-server
                    server:
                      tiemouts:
                        read: 5s
                """))
                .isInstanceOf(ConfigException.class)
                .hasMessage("unknown setting \"inputs[0].server.tiemouts\" (did you mean \"inputs[0].server.timeouts\"?)");
    }

    @Test
    void anUnknownSettingFailsAtEveryLevel() {
        assertThatThrownBy(() -> load("outptu: {}"))
                .hasMessageStartingWith("unknown setting \"outptu\" (did you mean \"output\"?)");
        assertThatThrownBy(() -> load("output.kafka.hosts: [a]"))
                .hasMessageStartingWith("unknown setting \"output.kafka\"");
        assertThatThrownBy(() -> load("inputs: [{server: {bulk: {flush_intervall: 1s}}}]"))
                .hasMessageStartingWith("unknown setting \"inputs[0].server.bulk.flush_intervall\"");
        assertThatThrownBy(() -> load("inputs: [{server: {limits: {checkin_limit: {brust: 1}}}}]"))
                .hasMessageStartingWith("unknown setting \"inputs[0].server.limits.checkin_limit.brust\"");
    }

    @Test
    void aPortThatIsNotANumberFailsNamingThePath() {
        assertThatThrownBy(() -> load("inputs: [{server: {port: abc}}]"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("inputs[0].server.port: expected an integer between 0 and 65535, got \"abc\"");
    }

    @Test
    void aPortOutOfRangeFailsNamingThePath() {
        assertThatThrownBy(() -> load("management: {port: 70000}"))
                .hasMessage("management.port: expected an integer between 0 and 65535, got 70000");
        assertThatThrownBy(() -> load("http.port: -1"))
                .hasMessage("http.port: expected an integer between 0 and 65535, got -1");
        assertThatThrownBy(() -> load("http.port: 80.5"))
                .hasMessage("http.port: expected an integer between 0 and 65535, got 80.5");
    }

    @Test
    void aBadDurationFailsNamingThePath() {
        assertThatThrownBy(() -> load("inputs: [{server: {timeouts: {read: 5x}}}]"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("inputs[0].server.timeouts.read: expected a duration such as \"30s\", \"5m\" or "
                        + "\"1h30m\", got \"5x\"");
        assertThatThrownBy(() -> load("output.elasticsearch.timeout: -5s"))
                .hasMessage("output.elasticsearch.timeout: expected a duration of zero or more, got \"-5s\"");
    }

    @Test
    void aBareNumberForADurationIsSecondsAsInTheOriginal() {
        assertThat(load("inputs: [{server: {timeouts: {drain: 2.5}}}]").server().timeouts().drain())
                .isEqualTo(Duration.ofMillis(2500));
    }

    @Test
    void theApiKeyCacheLifetimeAndJitterAreReadAndTheJitterStaysBelowTheLifetime() {
        CacheConfig cache = load("inputs: [{cache: {ttl_api_key: 2m, jitter_api_key: 30s}}]").cache();
        assertThat(cache.ttlApiKey()).isEqualTo(Duration.ofMinutes(2));
        assertThat(cache.jitterApiKey()).isEqualTo(Duration.ofSeconds(30));
        assertThat(load("inputs: [{cache: {ttl_api_key: 2m}}]").cache().jitterApiKey()).isZero();
        assertThat(load("inputs: [{cache: {max_cost: 1}}]").cache().ttlApiKey()).isEqualTo(Duration.ofMinutes(15));

        assertThatThrownBy(() -> load("inputs: [{cache: {ttl_api_key: 2m, jitter_api_key: 2m}}]"))
                .hasMessage("inputs[0].cache.jitter_api_key: expected a duration less than ttl_api_key (2m0s)");
        assertThatThrownBy(() -> load("inputs: [{cache: {ttl_api_key: 0s}}]"))
                .hasMessage("inputs[0].cache.ttl_api_key: expected a duration above zero");
    }

    @Test
    void valuesOutOfTheirRangeOrSetFail() {
        assertThatThrownBy(() -> load("inputs: [{server: {compression_level: 10}}]"))
                .hasMessage("inputs[0].server.compression_level: expected an integer between -1 and 9, got 10");
        assertThatThrownBy(() -> load("inputs: [{server: {limits: {checkin_limit: {burst: -1}}}}]"))
                .hasMessage("inputs[0].server.limits.checkin_limit.burst: expected an integer of 0 or more, got -1");
        assertThatThrownBy(() -> load("inputs: [{server: {pdkdf2: {iterations: 10}}}]"))
                .hasMessage("inputs[0].server.pdkdf2.iterations: expected an integer of 1000 or more, got 10");
        assertThatThrownBy(() -> load("output.elasticsearch.protocol: ftp"))
                .hasMessage("output.elasticsearch.protocol: expected one of http, https, got \"ftp\"");
        assertThatThrownBy(() -> load("logging.level: loud"))
                .hasMessage("logging.level: expected one of trace, debug, info, warning, error, got \"loud\"");
        assertThatThrownBy(() -> load("http.enabled: maybe"))
                .hasMessage("http.enabled: expected true or false, got \"maybe\"");
        assertThatThrownBy(() -> load("output.elasticsearch.hosts: {a: b}"))
                .hasMessage("output.elasticsearch.hosts: expected a list of strings, got a mapping");
        assertThatThrownBy(() -> load("inputs: [{server: {timeouts: 5s}}]"))
                .hasMessage("inputs[0].server.timeouts: expected a mapping, got \"5s\"");
    }

    @Test
    void serverTlsIsValidated() {
        assertThatThrownBy(() -> load("inputs: [{server: {ssl: {certificate: /c.pem}}}]"))
                .hasMessage("inputs[0].server.ssl: certificate and key are required when ssl is enabled");
        assertThatThrownBy(() -> load(
                "inputs: [{server: {ssl: {certificate: /c.pem, key: /k.pem, client_authentication: maybe}}}]"))
                .hasMessage("inputs[0].server.ssl.client_authentication: expected one of none, optional, "
                        + "required, got \"maybe\"");
        assertThatThrownBy(() -> load(
                "inputs: [{server: {ssl: {certificate: /c.pem, key: /k.pem, supported_protocols: [SSLv3]}}}]"))
                .hasMessage("inputs[0].server.ssl.supported_protocols: expected TLSv1.0, TLSv1.1, TLSv1.2 or "
                        + "TLSv1.3, got \"SSLv3\"");
    }

    @Test
    void serverTlsIsOnWhenPresentAndAsksClientsForCertificatesWhenCasAreGiven() {
        SslConfig ssl = load("""
                inputs:
                  - server:
                      ssl:
                        certificate: /c.pem
                        key: /k.pem
                        certificate_authorities: [/ca.pem]
                """).server().ssl();
        assertThat(ssl.enabled()).isTrue();
        assertThat(ssl.clientAuthentication()).isEqualTo(SslConfig.ClientAuthentication.REQUIRED);
        assertThat(load("inputs: [{server: {ssl: {enabled: false}}}]").server().ssl()).isEqualTo(SslConfig.DISABLED);
    }

    @Test
    void missingOrEmptyInputsIsFine() {
        assertThat(load("inputs: []").server()).isEqualTo(ServerConfig.defaults());
        assertThat(load("output.elasticsearch.hosts: [es:9200]").server()).isEqualTo(ServerConfig.defaults());
        assertThat(load("inputs: [{type: fleet-server}]").server()).isEqualTo(ServerConfig.defaults());
        assertThat(load("").server()).isEqualTo(ServerConfig.defaults());
    }

    @Test
    void onlyOneFleetServerInputIsAccepted() {
        assertThatThrownBy(() -> load("inputs: [{type: fleet-server}, {type: fleet-server}]"))
                .hasMessage("inputs: only one fleet-server input can be defined, got 2");
        assertThatThrownBy(() -> load("inputs: [{type: filestream}]"))
                .hasMessage("inputs[0].type: expected \"fleet-server\", got \"filestream\"");
        assertThatThrownBy(() -> load("inputs: {type: fleet-server}"))
                .hasMessage("inputs: expected a list holding one fleet-server input, got a mapping");
    }

    @Test
    void dottedKeysMeanTheSameAsNestedOnes() {
        FleetServerConfig dotted = load("""
                inputs:
                  - server.port: 9000
                    server.timeouts.read: 1s
                http.enabled: true
                http:
                  port: 6000
                """);
        assertThat(dotted.server().port()).isEqualTo(9000);
        assertThat(dotted.server().timeouts().read()).isEqualTo(Duration.ofSeconds(1));
        assertThat(dotted.http()).isEqualTo(new HttpConfig(true, "localhost", 6000));
    }

    @Test
    void aSettingGivenTwiceFails() {
        assertThatThrownBy(() -> load("""
                http.port: 1
                http:
                  port: 2
                """)).hasMessage("setting \"http.port\" is given more than once");
        assertThatThrownBy(() -> load("""
                http:
                  port: 1
                  port: 2
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("port");
    }

    @Test
    void theDeprecatedAgentLoggingLevelWinsAsInTheOriginal() {
        FleetServerConfig config = load("""
                fleet.agent.logging.level: WARN
                logging.level: error
                """);
        assertThat(config.logging().level()).isEqualTo("warning");
    }

    @Test
    void ourOwnSettingsLiveUnderTheirOwnKeys() {
        FleetServerConfig config = load("""
                management: {enabled: false, host: 0.0.0.0, port: 9001, token: s3cret}
                embedded.data_dir: /srv/fleet
                """);
        assertThat(config.management()).isEqualTo(new ManagementConfig(false, "0.0.0.0", 9001, "s3cret"));
        assertThat(config.embedded().dataDir()).isEqualTo(Path.of("/srv/fleet"));
        assertThat(config.ignoredSettings()).isEmpty();
    }

    @Test
    void theConsoleIsOnByDefaultAndItsSessionsAndSignInPauseAreSettings() {
        assertThat(load("{}").management().console()).isEqualTo(ConsoleConfig.defaults());
        ConsoleConfig console = load("""
                management.console: {session_lifetime: 30m, sign_in_max_pause: 1m}
                """).management().console();
        assertThat(console).isEqualTo(new ConsoleConfig(true, Duration.ofMinutes(30), Duration.ofMinutes(1)));
        assertThat(load("management.console.enabled: false").management().console().enabled()).isFalse();
        assertThatThrownBy(() -> load("management.console.session_lifetime: 0s"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("management.console.session_lifetime");
        assertThatThrownBy(() -> load("management.console.lifetime: 1h"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("management.console.lifetime");
    }

    @Test
    void secretsAreNotPrinted() {
        FleetServerConfig config = load("""
                management.token: m-secret
                output.elasticsearch: {hosts: [es], service_token: es-secret}
                inputs: [{server: {ssl: {certificate: /c.pem, key: "-----BEGIN KEY-----", key_passphrase: p-secret}}}]
                """);
        assertThat(config.toString()).doesNotContain("m-secret", "es-secret", "p-secret", "BEGIN KEY");
    }

    @Test
    void headerNamesKeepTheirDots() {
        assertThat(load("output.elasticsearch.headers: {X-A.B: c}").output().headers())
                .isEqualTo(Map.of("X-A.B", "c"));
    }

    @Test
    void everyRouteLimitKeyIsRead() {
        StringBuilder yaml = new StringBuilder("inputs: [{server: {limits: {");
        for (String route : LimitsConfig.ROUTES) {
            yaml.append(route).append("_limit: {interval: 2ms, burst: 3, max: 4, max_body_byte_size: 5,"
                    + " max_body_decompressed: 6}, ");
        }
        yaml.append("max_connections: 7}}}]");
        LimitsConfig limits = load(yaml.toString()).server().limits();
        assertThat(limits.maxConnections()).isEqualTo(7);
        assertThat(limits.routes()).hasSize(LimitsConfig.ROUTES.size()).allSatisfy((route, limit) ->
                assertThat(limit).isEqualTo(new RouteLimitConfig(Duration.ofMillis(2), 3, 4, 5, 6)));
        assertThatThrownBy(() -> limits.route("nope")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aFileThatIsNotAMappingFails() {
        assertThatThrownBy(() -> load("- a\n- b"))
                .hasMessage("the configuration must be a mapping of settings, got a list");
    }

    @Test
    void listsMayBeGivenAsOneCommaSeparatedString() {
        assertThat(load("output.elasticsearch.hosts: 'es1:9200, es2:9200'").output().hosts())
                .isEqualTo(List.of("es1:9200", "es2:9200"));
    }

    private static FleetServerConfig load(String yaml) {
        return ConfigLoader.load(ConfigLoader.parseYaml(yaml), Map.of(), Map.of());
    }

    static Path resource(String name) throws URISyntaxException {
        return Path.of(ConfigLoaderTest.class.getResource("/config/" + name).toURI());
    }
}
