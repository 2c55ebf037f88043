package dev.fleetserver.netty.config;

/**
 * PBKDF2 parameters for hashing replace tokens, from {@code inputs[0].server.pdkdf2.*} (the original's spelling).
 * The minimums are the original's (NIST SP 800-132).
 *
 * @param iterations default 210000, at least 1000
 * @param keyLength  bytes, default 32, at least 14
 * @param saltLength bytes, default 64, at least 16
 */
public record Pbkdf2Config(int iterations, int keyLength, int saltLength) {

    public Pbkdf2Config {
        if (iterations < 1000 || keyLength < 14 || saltLength < 16) {
            throw new IllegalArgumentException("PBKDF2 parameters below the minimums: " + iterations + "/"
                    + keyLength + "/" + saltLength);
        }
    }

    public static Pbkdf2Config defaults() {
        return new Pbkdf2Config(210_000, 32, 64);
    }

    static Pbkdf2Config read(Section s) {
        Pbkdf2Config config = new Pbkdf2Config(
                s.integer("iterations", 210_000, 1000, Integer.MAX_VALUE),
                s.integer("key_length", 32, 14, Integer.MAX_VALUE),
                s.integer("salt_length", 64, 16, Integer.MAX_VALUE));
        s.finish();
        return config;
    }
}
