package dev.fleetserver.netty.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the PGP key served at {@code GET /api/agents/upgrades/{major}.{minor}.{patch}/pgp-public-key} comes from,
 * from {@code inputs[0].server.pgp.*}: the file {@code <dir>/default.pgp}, and when it is missing the key downloaded
 * from {@code upstream_url} (then written to that file, best effort).
 *
 * @param upstreamUrl where the key is downloaded from when the file is missing; default
 *                    {@value #DEFAULT_UPSTREAM_URL}
 * @param dir         directory of {@code default.pgp}, or null for the default: the original uses
 *                    {@code <executable dir>/elastic-agent-upgrade-keys}; a jar has no such directory, so the daemon
 *                    uses {@code <data dir>/elastic-agent-upgrade-keys}
 */
public record PgpConfig(URI upstreamUrl, Path dir) {
    public static final String DEFAULT_UPSTREAM_URL = "https://artifacts.elastic.co/GPG-KEY-elastic-agent";
    public static final String DEFAULT_DIR_NAME = "elastic-agent-upgrade-keys";

    public PgpConfig {
        Objects.requireNonNull(upstreamUrl, "upstreamUrl");
    }

    public static PgpConfig defaults() {
        return new PgpConfig(URI.create(DEFAULT_UPSTREAM_URL), null);
    }

    /** The directory of the key file, with the data directory standing in for the executable's directory. */
    public Path dirOr(Path dataDir) {
        return dir != null ? dir : dataDir.resolve(DEFAULT_DIR_NAME);
    }

    static PgpConfig read(Section s) {
        String url = s.string("upstream_url", DEFAULT_UPSTREAM_URL);
        URI upstream;
        try {
            upstream = new URI(url);
        } catch (URISyntaxException e) {
            throw ConfigException.at(s.pathOf("upstream_url"), "invalid URL " + Section.quote(url) + ": " + e.getReason());
        }
        if (!"https".equalsIgnoreCase(upstream.getScheme()) && !"http".equalsIgnoreCase(upstream.getScheme())) {
            throw ConfigException.at(s.pathOf("upstream_url"), "expected an http or https URL, got " + Section.quote(url));
        }
        Path dir = s.optionalPath("dir");
        s.finish();
        return new PgpConfig(upstream, dir);
    }
}
