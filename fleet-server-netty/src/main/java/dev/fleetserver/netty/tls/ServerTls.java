package dev.fleetserver.netty.tls;

import dev.fleetserver.netty.config.SslConfig;
import dev.fleetserver.netty.pipeline.PipelineNames;
import io.netty.channel.Channel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.OpenSslSessionContext;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.security.cert.X509Certificate;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for one listener: the current server {@link SslContext}, handed to each new connection, and the reload that
 * replaces it when the certificate, key, passphrase or CA files change.
 *
 * <p>The OpenSSL engine (BoringSSL from netty-tcnative) is used when its native library loads, for its far smaller
 * per-connection buffers and faster handshakes; otherwise the JDK engine. Which one is logged at start.
 *
 * <p>Session resumption: with the OpenSSL engine, session tickets are issued with keys kept in the data directory
 * ({@link SessionTickets}), so that agents reconnecting after a restart resume instead of all asking for a full
 * handshake at once; the keys rotate on the reload thread, and a new certificate ends the sessions of the old one.
 * The JDK engine uses its own per-process ticket keys.
 *
 * <p>Reload contract: every {@code reload_interval} the files are read and hashed; when the hash differs from the
 * one in use, a new context is built and, if that succeeds, swapped in atomically. Only connections accepted after
 * the swap use it; open connections keep the context they started with. A new set of files that does not build (a
 * half-written rotation, a key that does not match, a wrong passphrase) is logged once as an error and the old
 * context stays in service; the next successful read replaces it. A failure is only reported when the same files
 * still fail at the next check, so that the moment between writing a new key and its certificate goes unnoticed.
 */
public final class ServerTls implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServerTls.class);

    private final SslConfig config;
    private final SslProvider provider;
    private final AtomicReference<Current> current = new AtomicReference<>();
    private final ScheduledExecutorService reloader;
    /** Null with the JDK engine. */
    private final SessionTickets tickets;
    private final TlsFailureHandler outcomes = new TlsFailureHandler();
    /** Resumed handshakes counted by contexts no longer in use. */
    private final AtomicLong retiredResumed = new AtomicLong();
    /** The last material that failed to build, seen once: reported if it fails again. Reload thread only. */
    private String failedOnce;
    /** The material whose failure was reported: not rebuilt nor reported again. Reload thread only. */
    private String reported;

    private record Current(SslContext context, String fingerprint, X509Certificate leaf) {
    }

    private ServerTls(SslConfig config, SslProvider provider, Path ticketKeys) {
        this.config = config;
        this.provider = provider;
        this.tickets = provider == SslProvider.JDK ? null : new SessionTickets(ticketKeys, Clock.systemUTC());
        this.reloader = config.reload() || tickets != null ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fleet-tls-reload");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /**
     * Builds the first context (failing when the files are missing or invalid: a server must not start without
     * its certificate) and starts watching the files when {@code certificate_reload.enabled}.
     */
    public static ServerTls start(SslConfig config, Path ticketKeys) throws IOException {
        return start(config, preferredProvider(), ticketKeys);
    }

    /**
     * As {@link #start(SslConfig, Path)} with a chosen engine (tests run both).
     *
     * @param ticketKeys the file keeping the session ticket keys across restarts; null keeps them in memory
     */
    public static ServerTls start(SslConfig config, SslProvider provider, Path ticketKeys) throws IOException {
        if (!config.enabled()) {
            throw new IllegalArgumentException("TLS is not enabled");
        }
        ServerTls tls = new ServerTls(config, provider, ticketKeys);
        PemMaterial material = PemMaterial.read(config);
        try {
            tls.install(material);
        } finally {
            material.wipe();
        }
        LOG.info("TLS on: {} engine, client authentication {}, protocols {}, certificate {}", engineName(provider),
                config.clientAuthentication().name().toLowerCase(java.util.Locale.ROOT),
                config.supportedProtocols().isEmpty() ? "default" : config.supportedProtocols(),
                describe(tls.current.get().leaf()));
        if (tls.tickets != null) {
            tls.reloader.scheduleWithFixedDelay(tls::rotateTicketKeys, 10, 10, TimeUnit.MINUTES);
        }
        if (config.reload()) {
            long every = config.reloadInterval().toMillis();
            tls.reloader.scheduleWithFixedDelay(tls::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
            LOG.info("TLS certificate reload: checking {} every {}", PemMaterial.files(config), config.reloadInterval());
        }
        return tls;
    }

    /** OpenSSL when netty-tcnative's library loads here, else the JDK. */
    public static SslProvider preferredProvider() {
        if (OpenSsl.isAvailable()) {
            return SslProvider.OPENSSL;
        }
        LOG.info("OpenSSL engine unavailable ({}); using the JDK engine", String.valueOf(OpenSsl.unavailabilityCause()));
        return SslProvider.JDK;
    }

    static String engineName(SslProvider provider) {
        return provider == SslProvider.JDK ? "JDK" : "OpenSSL (" + OpenSsl.versionString() + ")";
    }

    /** The engine in use: {@code JDK} or {@code OPENSSL}. */
    public SslProvider provider() {
        return provider;
    }

    /** The context new connections get now. */
    public SslContext context() {
        return current.get().context();
    }

    /** The certificate new connections are shown now. */
    public X509Certificate certificate() {
        return current.get().leaf();
    }

    /**
     * Handshakes since start.
     *
     * @param engine     {@code openssl} or {@code jdk}
     * @param handshakes completed handshakes, full or resumed
     * @param resumed    tickets accepted to resume a session, counted when the ticket is opened, so a resumed
     *                   handshake that then fails counts here as well as in {@code failed}; -1 with the JDK engine,
     *                   which does not say
     * @param failed     handshakes that failed (untrusted or missing client certificate, no common protocol, plain
     *                   HTTP, a client that went away)
     */
    public record Stats(String engine, long handshakes, long resumed, long failed) {
    }

    public Stats stats() {
        return new Stats(provider == SslProvider.JDK ? "jdk" : "openssl", outcomes.handshakes(), resumedHandshakes(),
                outcomes.failed());
    }

    /**
     * Handshakes that resumed a session from a ticket, since start (OpenSSL engine; the JDK engine does not say, -1).
     */
    public long resumedHandshakes() {
        if (tickets == null) {
            return -1;
        }
        return retiredResumed.get() + resumed(current.get().context());
    }

    private static long resumed(SslContext context) {
        return context.sessionContext() instanceof OpenSslSessionContext s ? s.stats().ticketKeyResume() : 0;
    }

    /** Rotates the ticket keys when due and gives the context in use the new set. Reload thread. */
    synchronized void rotateTicketKeys() {
        try {
            if (tickets.rotateIfDue()) {
                tickets.applyTo(current.get().context(), current.get().leaf());
            }
        } catch (RuntimeException e) {
            LOG.error("TLS session ticket key rotation failed; the current keys stay in use", e);
        }
    }

    /**
     * Adds the TLS handler for a new connection, with the context current at this moment, the handler that answers
     * plain HTTP before it, and the one that turns failed handshakes into a quiet close after it. Call from the
     * channel initializer.
     *
     * @param handshakeTimeout how long a handshake may take: the read timeout, as the original's (Go's server reads
     *                         the handshake under its read deadline). Netty's own 10 s would, when every agent
     *                         reconnects at once, close the handshakes still queued behind the others and have
     *                         their work done again.
     */
    public void addTo(Channel ch, java.time.Duration handshakeTimeout) {
        ch.pipeline().addLast(PipelineNames.TLS_PLAIN_HTTP, new PlainHttpRefusal());
        io.netty.handler.ssl.SslHandler handler = current.get().context().newHandler(ch.alloc());
        handler.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
        ch.pipeline().addLast(PipelineNames.TLS, handler);
        ch.pipeline().addLast(PipelineNames.TLS_FAILURES, outcomes);
    }

    /**
     * Reads the files and swaps in a new context if they changed and build. Never throws. Runs on the reload thread
     * (and directly from tests).
     *
     * @return true when a new context was swapped in
     */
    synchronized boolean reloadIfChanged() {
        PemMaterial material;
        try {
            material = PemMaterial.read(config);
        } catch (IOException | RuntimeException e) {
            failed(null, e);
            return false;
        }
        try {
            if (material.fingerprint().equals(current.get().fingerprint())) {
                failedOnce = null;
                reported = null;
                return false;
            }
            if (material.fingerprint().equals(reported)) {
                return false;
            }
            X509Certificate previous = current.get().leaf();
            install(material);
            failedOnce = null;
            reported = null;
            LOG.info("TLS certificate reloaded for new connections: {} (was {})", describe(current.get().leaf()),
                    describe(previous));
            return true;
        } catch (IOException | RuntimeException e) {
            failed(material.fingerprint(), e);
            return false;
        } finally {
            material.wipe();
        }
    }

    private void failed(String fingerprint, Exception e) {
        String key = fingerprint == null ? "unreadable:" + e.getMessage() : fingerprint;
        if (key.equals(reported)) {
            return;
        }
        if (!key.equals(failedOnce)) {
            failedOnce = key;
            LOG.debug("TLS certificate files changed but do not build (yet): {}", e.getMessage());
            return;
        }
        reported = key;
        LOG.error("TLS certificate reload failed, still serving {}: {}", describe(current.get().leaf()),
                e.getMessage());
    }

    private void install(PemMaterial material) throws IOException {
        ServerContexts.Built built = ServerContexts.build(config, material, provider);
        if (tickets != null) {
            tickets.applyTo(built.context(), built.leaf());
        }
        Current previous = current.getAndSet(new Current(built.context(), material.fingerprint(), built.leaf()));
        if (previous != null) {
            retiredResumed.addAndGet(resumed(previous.context()));
        }
    }

    private static String describe(X509Certificate c) {
        return "subject \"" + c.getSubjectX500Principal().getName() + "\" serial " + c.getSerialNumber().toString(16)
                + " valid until " + c.getNotAfter().toInstant();
    }

    /** Stops watching the files; open connections are not affected. */
    @Override
    public void close() {
        if (reloader != null) {
            reloader.shutdownNow();
        }
    }
}
