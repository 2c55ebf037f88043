package dev.fleetserver.netty.tls;

import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLSessionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS session ticket keys for the OpenSSL engine, kept in a file of the data directory so that agents reconnecting
 * after a restart resume their sessions (an abbreviated handshake, no certificate signature) instead of all paying
 * for a full one at once.
 *
 * <p>Contract: the newest key issues tickets; every key younger than {@link #KEEP} still opens them. A new key is
 * made when the newest is older than {@link #ROTATE_EVERY} (checked at start and by {@link #rotateIfDue()}); a ticket
 * is honoured for {@link #SESSION_LIFETIME} after its session began, which is always less than the time its key is
 * kept after it stopped issuing. The file holds one line per key, {@code <created epoch seconds> <base64 48 bytes>},
 * newest first, is created readable by its owner only and replaced atomically. A file that cannot be written (a
 * read-only data directory) leaves the keys in memory for this process only, with one warning; an unreadable line is
 * dropped. TLS 1.3 resumption keeps an ephemeral key exchange (psk_dhe_ke), so a stolen key file does not reveal past
 * TLS 1.3 traffic.
 *
 * <p>Netty's OpenSSL contexts issue no tickets unless keys are set; the JDK engine keeps its own per-process keys
 * and is not handled here.
 */
final class SessionTickets {
    private static final Logger LOG = LoggerFactory.getLogger(SessionTickets.class);

    static final Duration ROTATE_EVERY = Duration.ofHours(12);
    static final Duration SESSION_LIFETIME = Duration.ofHours(24);
    static final Duration KEEP = ROTATE_EVERY.plus(SESSION_LIFETIME);
    /** 48: a name, an HMAC key and an AES key of 16 bytes each, as much as HMAC-SHA384 gives. */
    static final int KEY_BYTES = OpenSslSessionTicketKey.NAME_SIZE + OpenSslSessionTicketKey.HMAC_KEY_SIZE
            + OpenSslSessionTicketKey.AES_KEY_SIZE;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path file;
    private final Clock clock;
    private volatile List<Key> keys = List.of();
    private boolean warnedUnwritable;

    record Key(Instant created, byte[] bytes) {
        /** The ticket key for contexts presenting {@code certificate}: HMAC-SHA384 of its DER under the stored key. */
        OpenSslSessionTicketKey ticketKey(X509Certificate certificate) {
            byte[] derived;
            try {
                Mac mac = Mac.getInstance("HmacSHA384");
                mac.init(new SecretKeySpec(bytes, "HmacSHA384"));
                derived = mac.doFinal(certificate.getEncoded());
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA384 is part of every Java runtime", e);
            }
            int name = OpenSslSessionTicketKey.NAME_SIZE;
            int hmac = OpenSslSessionTicketKey.HMAC_KEY_SIZE;
            return new OpenSslSessionTicketKey(Arrays.copyOfRange(derived, 0, name),
                    Arrays.copyOfRange(derived, name, name + hmac), Arrays.copyOfRange(derived, name + hmac, KEY_BYTES));
        }
    }

    /** @param file where the keys are kept; null keeps them in memory only */
    SessionTickets(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
        keys = read();
        rotateIfDue();
    }

    /** The keys in use, newest (the issuing one) first. */
    List<Key> keys() {
        return keys;
    }

    /**
     * Makes a new issuing key when the newest is {@link #ROTATE_EVERY} old, and drops keys older than {@link #KEEP}.
     *
     * @return true when the keys changed (contexts must be given them again)
     */
    synchronized boolean rotateIfDue() {
        Instant now = clock.instant();
        List<Key> kept = new ArrayList<>(keys.stream().filter(k -> k.created().plus(KEEP).isAfter(now)).toList());
        boolean changed = kept.size() != keys.size();
        if (kept.isEmpty() || !kept.get(0).created().plus(ROTATE_EVERY).isAfter(now)) {
            byte[] bytes = new byte[KEY_BYTES];
            RANDOM.nextBytes(bytes);
            kept.add(0, new Key(now, bytes));
            changed = true;
        }
        if (changed) {
            keys = List.copyOf(kept);
            write();
        }
        return changed;
    }

    /**
     * Gives an OpenSSL context the keys and the session lifetime; contexts of other engines are left as they are.
     * The keys are derived for the certificate the context presents, so that a new certificate (rotated because it
     * expires, or because its key leaked) ends the sessions begun under the old one: their clients make a full
     * handshake and see the new certificate.
     */
    void applyTo(SslContext context, X509Certificate certificate) {
        SSLSessionContext sessions = context.sessionContext();
        if (sessions instanceof OpenSslSessionContext openSsl) {
            openSsl.setSessionTimeout((int) SESSION_LIFETIME.toSeconds());
            openSsl.setTicketKeys(keys.stream().map(k -> k.ticketKey(certificate)).toArray(OpenSslSessionTicketKey[]::new));
        }
    }

    private List<Key> read() {
        if (file == null || !Files.exists(file)) {
            return List.of();
        }
        List<Key> read = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                String[] parts = line.trim().split(" ");
                try {
                    byte[] bytes = Base64.getDecoder().decode(parts[1]);
                    if (parts.length == 2 && bytes.length == KEY_BYTES) {
                        read.add(new Key(Instant.ofEpochSecond(Long.parseLong(parts[0])), bytes));
                    }
                } catch (RuntimeException e) {
                    // a damaged line: that key is lost, the others are used
                }
            }
        } catch (IOException e) {
            LOG.warn("TLS session ticket keys: cannot read {} ({}); new keys are made", file, e.toString());
        }
        read.sort(Comparator.comparing(Key::created).reversed());
        return read;
    }

    private void write() {
        if (file == null) {
            return;
        }
        StringBuilder text = new StringBuilder();
        for (Key k : keys) {
            text.append(k.created().getEpochSecond()).append(' ')
                    .append(Base64.getEncoder().encodeToString(k.bytes())).append('\n');
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                throw new IOException("another process is writing " + tmp, e);
            }
            Files.writeString(tmp, text, StandardCharsets.US_ASCII);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            if (!warnedUnwritable) {
                warnedUnwritable = true;
                LOG.warn("TLS session ticket keys: cannot write {} ({}); agents reconnecting after a restart will do "
                        + "full handshakes", file, e.toString());
            }
        }
    }
}
