package dev.fleetserver.netty.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static dev.fleetserver.netty.config.ConfigLoaderTest.resource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderFlagsTest {

    @Test
    void flagsOverrideTheFile() throws Exception {
        FleetServerConfig config = ConfigLoader.load(new String[] {
                "--config", resource("fleet-server-every-key.yml").toString(),
                "--host", "127.0.0.2", "--port=9220",
                "--management-host", "0.0.0.0", "--management-port", "0",
                "--data-dir", "/tmp/fleet-data"}, Map.of());

        assertThat(config.server().host()).isEqualTo("127.0.0.2");
        assertThat(config.server().port()).isEqualTo(9220);
        assertThat(config.server().internalPort()).isEqualTo(8221);
        assertThat(config.management()).isEqualTo(new ManagementConfig(true, "0.0.0.0", 0, null,
                new ConsoleConfig(true, Duration.ofHours(4), Duration.ofMinutes(2))));
        assertThat(config.embedded().dataDir()).isEqualTo(Path.of("/tmp/fleet-data"));
    }

    @Test
    void oneFlagOfAPairKeepsTheOtherValueFromTheFile() {
        FleetServerConfig config = ConfigLoader.load(ConfigLoader.parseYaml("""
                inputs: [{server: {host: 10.0.0.1, port: 9000}}]
                management: {host: 10.0.0.2, port: 9001}
                """), Map.of("port", "9100", "management-host", "10.0.0.3"), Map.of());

        assertThat(config.server().host()).isEqualTo("10.0.0.1");
        assertThat(config.server().port()).isEqualTo(9100);
        assertThat(config.management().host()).isEqualTo("10.0.0.3");
        assertThat(config.management().port()).isEqualTo(9001);
    }

    @Test
    void theShortConfigFlagOfTheOriginalIsAccepted() throws Exception {
        FleetServerConfig config = ConfigLoader.load(
                new String[] {"-c", resource("fleet-server.yml").toString()}, Map.of());
        assertThat(config.output().isConfigured()).isTrue();
    }

    @Test
    void anUnknownFlagFailsFast() {
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--prot", "1"}, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("unknown flag --prot (did you mean --port?)");
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"-x"}, Map.of()))
                .hasMessageStartingWith("unknown flag -x");
        assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("verbose", "1"), Map.of()))
                .hasMessageStartingWith("unknown flag --verbose");
    }

    @Test
    void aBadFlagValueFailsNamingTheFlag() {
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--port", "abc"}, Map.of()))
                .hasMessage("--port: expected an integer between 0 and 65535, got \"abc\"");
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--management-port=65536"}, Map.of()))
                .hasMessage("--management-port: expected an integer between 0 and 65535, got \"65536\"");
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--host"}, Map.of()))
                .hasMessage("--host: needs a value");
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--host", "--port", "1"}, Map.of()))
                .hasMessage("--host: needs a value");
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--port", "1", "--port", "2"}, Map.of()))
                .hasMessage("--port: given more than once");
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"serve"}, Map.of()))
                .hasMessage("unexpected argument \"serve\" (flags start with --)");
    }

    @Test
    void helpIsSignalledWithTheUsageText() {
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--port", "1", "--help"}, Map.of()))
                .isInstanceOf(HelpRequestedException.class)
                .hasMessage(ConfigLoader.usage());
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"-h"}, Map.of()))
                .isInstanceOf(HelpRequestedException.class);
        assertThat(ConfigLoader.usage()).contains("--config FILE", "--data-dir DIR", "--host HOST", "--port PORT",
                "--management-host HOST", "--management-port PORT", "--help");
    }

    @Test
    void aConfigFileThatDoesNotExistFailsNamingIt() {
        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--config", "/no/such/fleet-server.yml"}, Map.of()))
                .hasMessage("--config: no such file /no/such/fleet-server.yml");
    }

    @Test
    void invalidYamlFailsWithTheFileAndLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("fleet-server.yml");
        Files.writeString(file, "output:\n  elasticsearch:\n    hosts: [a\n");

        assertThatThrownBy(() -> ConfigLoader.load(new String[] {"--config", file.toString()}, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(file + ": invalid YAML at line ");
    }

    @Test
    void anEmptyConfigFileMeansDefaults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("fleet-server.yml");
        Files.writeString(file, "# nothing here\n");

        assertThat(ConfigLoader.load(new String[] {"--config", file.toString()}, Map.of()))
                .isEqualTo(FleetServerConfig.defaults());
    }
}
