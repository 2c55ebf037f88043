package dev.fleetserver.netty.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandsTest {
    @TempDir
    Path tmp;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Commands.run(args, Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aCommandIsTheFirstArgumentWhenItIsNoFlag() {
        assertThat(Commands.isCommand(new String[] {"enrollment-token"})).isTrue();
        assertThat(Commands.isCommand(new String[] {"--data-dir", "x"})).isFalse();
        assertThat(Commands.isCommand(new String[0])).isFalse();
    }

    @Test
    void anUnknownCommandOrAMissingOutputIsAUsageError() {
        assertThat(run("frobnicate")).isEqualTo(2);
        assertThat(err()).isEqualTo("fleet-server: unknown command frobnicate (commands: enrollment-token, backup; "
                + "flags start with --)\n");
        err.reset();
        assertThat(run("backup", "--data-dir", tmp.toString())).isEqualTo(2);
        assertThat(err()).isEqualTo("fleet-server: backup: --output FILE is required\n");
        err.reset();
        assertThat(run("enrollment-token", "--policy")).isEqualTo(2);
        assertThat(err()).isEqualTo("fleet-server: --policy: needs a value\n");
    }

    @Test
    void theServersFlagsAreCheckedAsTheServerChecksThem() {
        assertThat(run("enrollment-token", "--data-dir", tmp.toString(), "--bogus", "1")).isEqualTo(2);
        assertThat(err()).startsWith("fleet-server: unknown flag --bogus");
        err.reset();
        assertThat(run("enrollment-token", "--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("enrollment-token", "backup --output FILE");
    }

    @Test
    void aBackupIsForTheEmbeddedStoreAndNeverOverwritesIt() throws Exception {
        Path yml = Files.writeString(tmp.resolve("es.yml"), "output.elasticsearch.hosts: [\"es:9200\"]\n");
        assertThat(run("backup", "--config", yml.toString(), "--output", tmp.resolve("b.db").toString())).isEqualTo(2);
        assertThat(err()).contains("on Elasticsearch", "_snapshot");
        err.reset();
        assertThat(run("backup", "--data-dir", tmp.toString(), "--output", tmp.resolve("fleet.db").toString())).isEqualTo(2);
        assertThat(err()).contains("--output must not be the store itself");
        err.reset();
        assertThat(run("backup", "--data-dir", tmp.resolve("none").toString(), "--output", tmp.resolve("b.db").toString()))
                .isEqualTo(1);
        assertThat(err()).contains("there is no embedded store at");
    }
}
