package dev.fleetserver.netty.tls;

import dev.fleetserver.netty.config.SslConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The raw bytes a server TLS context is built from, as read at one moment: certificate chain, key, passphrase and
 * client CAs. Each setting is a PEM file path or inline PEM, as in elastic-agent-libs. Two readings with the same
 * {@link #fingerprint()} build the same context, which is how a reload notices a change.
 *
 * @param certificate PEM certificate chain, server certificate first
 * @param key         PEM private key (PKCS#8, PKCS#1 or SEC1; possibly encrypted)
 * @param passphrase  the key's passphrase, or null
 * @param authorities one PEM blob per configured client CA setting
 * @param fingerprint SHA-256 over all of the above, hex
 */
record PemMaterial(byte[] certificate, byte[] key, char[] passphrase, List<byte[]> authorities, String fingerprint) {

    /** Reads every file the configuration names; fails with a message naming the setting and file. */
    static PemMaterial read(SslConfig config) throws IOException {
        byte[] certificate = pemOrFile(config.certificate(), "certificate");
        byte[] key = pemOrFile(config.key(), "key");
        String passphrase = config.keyPassphrase();
        if (passphrase == null && config.keyPassphrasePath() != null) {
            passphrase = stripTrailingNewlines(new String(readFile(config.keyPassphrasePath(), "key_passphrase_path"),
                    StandardCharsets.UTF_8));
        }
        List<byte[]> authorities = new ArrayList<>();
        for (String ca : config.certificateAuthorities()) {
            authorities.add(pemOrFile(ca, "certificate_authorities"));
        }
        MessageDigest sha = sha256();
        update(sha, certificate);
        update(sha, key);
        update(sha, passphrase == null ? new byte[0] : passphrase.getBytes(StandardCharsets.UTF_8));
        for (byte[] ca : authorities) {
            update(sha, ca);
        }
        return new PemMaterial(certificate, key, passphrase == null ? null : passphrase.toCharArray(),
                List.copyOf(authorities), HexFormat.of().formatHex(sha.digest()));
    }

    /** The files behind the settings (inline PEM has none), for messages. */
    static List<Path> files(SslConfig config) {
        List<Path> files = new ArrayList<>();
        for (String s : List.of(config.certificate(), config.key())) {
            if (!isInline(s)) {
                files.add(Path.of(s));
            }
        }
        if (config.keyPassphrase() == null && config.keyPassphrasePath() != null) {
            files.add(config.keyPassphrasePath());
        }
        config.certificateAuthorities().stream().filter(s -> !isInline(s)).map(Path::of).forEach(files::add);
        return files;
    }

    private static boolean isInline(String pemOrPath) {
        return pemOrPath.contains("-----BEGIN");
    }

    private static byte[] pemOrFile(String pemOrPath, String setting) throws IOException {
        if (isInline(pemOrPath)) {
            return pemOrPath.getBytes(StandardCharsets.US_ASCII);
        }
        return readFile(Path.of(pemOrPath), setting);
    }

    private static byte[] readFile(Path file, String setting) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IOException("ssl." + setting + ": cannot read " + file + ": " + e, e);
        }
    }

    private static String stripTrailingNewlines(String s) {
        int end = s.length();
        while (end > 0 && (s.charAt(end - 1) == '\n' || s.charAt(end - 1) == '\r')) {
            end--;
        }
        return s.substring(0, end);
    }

    private static void update(MessageDigest sha, byte[] bytes) {
        // Length-prefixed, so that moving bytes from one part to the next changes the fingerprint.
        sha.update(java.nio.ByteBuffer.allocate(4).putInt(bytes.length).array());
        sha.update(bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PemMaterial other && fingerprint.equals(other.fingerprint);
    }

    @Override
    public int hashCode() {
        return fingerprint.hashCode();
    }

    /** Never prints key material. */
    @Override
    public String toString() {
        return "PemMaterial[" + fingerprint + "]";
    }

    /** Wipes the passphrase copy once a context is built. */
    void wipe() {
        if (passphrase != null) {
            Arrays.fill(passphrase, '\0');
        }
    }
}
