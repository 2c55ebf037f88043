package dev.fleetserver.netty.route;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.netty.config.PgpConfig;
import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.http.FixedAnswers;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/agents/upgrades/{major}.{minor}.{patch}/pgp-public-key}: the PGP key agents check upgrade packages
 * with, as the original serves it. Only over TLS (501 {@code ErrTLSRequired} otherwise); no authentication. The
 * version in the path must be three integers but is otherwise ignored.
 *
 * <p>The key is {@code <pgp.dir>/default.pgp}, which must have mode {@code 0600} exactly (else 500); when the file
 * does not exist the key is downloaded from {@code pgp.upstream_url} and written there (best effort). Either way it
 * is kept in memory for 30 minutes. Failures answer the original's default error: 500 {@code BadRequest} with the
 * reason as message.
 */
public final class PgpKeyRoute {
    private static final Logger LOG = LoggerFactory.getLogger(PgpKeyRoute.class);
    static final String KEY_FILE = "default.pgp";
    static final Set<PosixFilePermission> KEY_PERMISSIONS = PosixFilePermissions.fromString("rw-------");
    private static final Duration CACHE_TTL = Duration.ofMinutes(30);

    private final Path dir;
    private final URI upstream;
    private HttpClient http;
    private byte[] cached;
    private long cachedUntilNanos;
    private CompletableFuture<byte[]> download;

    /** @param dir the directory of {@code default.pgp} */
    public PgpKeyRoute(Path dir, URI upstream) {
        this.dir = dir;
        this.upstream = upstream;
    }

    public static PgpKeyRoute of(PgpConfig config, Path dataDir) {
        return new PgpKeyRoute(config.dirOr(dataDir), config.upstreamUrl());
    }

    /** The route handler. */
    public void handle(Exchange ex) {
        ex.releaseRequest();
        String version = ex.param("version");
        String[] parts = version.split("\\.", 3);
        if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty() || parts[2].isEmpty()) {
            // The original's router only matches three dot-separated values here.
            ex.respondFixed(FixedAnswers.NOT_FOUND);
            return;
        }
        String[] names = {"major", "minor", "patch"};
        for (int i = 0; i < 3; i++) {
            try {
                Long.parseLong(parts[i]);
            } catch (NumberFormatException e) {
                ex.fail(new FleetException(FleetError.INTERNAL, "Invalid format for parameter " + names[i]
                        + ": error binding string parameter: strconv.ParseInt: parsing \"" + parts[i]
                        + "\": invalid syntax"));
                return;
            }
        }
        if (!ex.secure()) {
            ex.fail(new FleetException(FleetError.TLS_REQUIRED));
            return;
        }
        key().whenComplete((key, t) -> {
            if (t != null) {
                LOG.warn("pgp key unavailable: {}", dev.fleetserver.core.util.Futures.unwrap(t).getMessage());
                ex.fail(t);
            } else {
                ex.respond(HttpResponseStatus.OK, contentType(key), key);
            }
        });
    }

    /** The key: from memory, else from the file, else from upstream. */
    synchronized CompletableFuture<byte[]> key() {
        if (cached != null && System.nanoTime() - cachedUntilNanos < 0) {
            return CompletableFuture.completedFuture(cached);
        }
        Path file = dir.resolve(KEY_FILE);
        try {
            return CompletableFuture.completedFuture(remember(fromFile(file)));
        } catch (NoSuchFileException e) {
            return fromUpstream(file);
        } catch (IOException | FleetException e) {
            return CompletableFuture.failedFuture(e instanceof FleetException ? e
                    : new FleetException(FleetError.INTERNAL, "reading " + file + ": " + e.getMessage(), e));
        }
    }

    private static byte[] fromFile(Path file) throws IOException {
        Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException e) {
            permissions = KEY_PERMISSIONS;
        }
        if (!permissions.equals(KEY_PERMISSIONS)) {
            throw new FleetException(FleetError.INTERNAL, "pgp key permissions are not 0600");
        }
        return Files.readAllBytes(file);
    }

    private CompletableFuture<byte[]> fromUpstream(Path file) {
        if (download != null) {
            return download;
        }
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                    .followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        HttpRequest request = HttpRequest.newBuilder(upstream).timeout(Duration.ofSeconds(30)).GET().build();
        CompletableFuture<byte[]> d = http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
                .handle((response, t) -> {
                    if (t != null) {
                        throw new FleetException(FleetError.INTERNAL, "fetching the pgp key from " + upstream + ": "
                                + (t.getCause() != null ? t.getCause() : t), t);
                    }
                    if (response.statusCode() != 200) {
                        throw new FleetException(FleetError.INTERNAL,
                                "upstream http server status error: " + response.statusCode());
                    }
                    byte[] key = response.body();
                    synchronized (this) {
                        remember(key);
                    }
                    write(file, key);
                    return key;
                });
        download = d;
        d.whenComplete((key, t) -> {
            synchronized (this) {
                download = null;
            }
        });
        return d;
    }

    private byte[] remember(byte[] key) {
        cached = key;
        cachedUntilNanos = System.nanoTime() + CACHE_TTL.toNanos();
        return key;
    }

    /** Best effort, as the original: the directory is created (0700) if missing, the file with mode 0600. */
    private void write(Path file, byte[] key) {
        try {
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Path tmp = Files.createTempFile(dir, KEY_FILE, ".tmp", PosixFilePermissions.asFileAttribute(KEY_PERMISSIONS));
            try {
                Files.write(tmp, key);
                Files.move(tmp, file);
            } finally {
                Files.deleteIfExists(tmp);
            }
            LOG.info("pgp key written to {}", file);
        } catch (FileAlreadyExistsException e) {
            LOG.debug("pgp key {} appeared meanwhile; left as it is", file);
        } catch (IOException | RuntimeException e) {
            LOG.error("unable to write the pgp key to {}: {}", file, e.toString());
        }
    }

    /** What Go's content sniffing gives the original's answer: armored keys are text. */
    private static String contentType(byte[] key) {
        for (byte b : key) {
            if ((b & 0xff) < 0x20 && b != '\n' && b != '\r' && b != '\t' && b != '\f' && b != 0x1b) {
                return "application/octet-stream";
            }
        }
        return "text/plain; charset=utf-8";
    }
}
