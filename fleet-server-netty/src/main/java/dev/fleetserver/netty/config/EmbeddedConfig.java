package dev.fleetserver.netty.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The embedded store used when no Elasticsearch is configured (our addition), from {@code embedded.*};
 * {@code --data-dir} overrides the file.
 *
 * @param dataDir directory holding the store; default {@code ./data}, relative to the working directory
 */
public record EmbeddedConfig(Path dataDir) {

    public static final Path DEFAULT_DATA_DIR = Path.of("./data");

    public EmbeddedConfig {
        Objects.requireNonNull(dataDir, "dataDir");
    }

    public static EmbeddedConfig defaults() {
        return read(Section.empty());
    }

    static EmbeddedConfig read(Section s) {
        Path dataDir = s.optionalPath("data_dir");
        s.finish();
        return new EmbeddedConfig(dataDir == null ? DEFAULT_DATA_DIR : dataDir);
    }
}
