package dev.fleetserver.core.enroll;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Hashes agent replace tokens in the original's format {@code $pbkdf2-sha512$<iterations>$<salt>$<key>} (unpadded
 * standard base64), so documents written by either server verify on the other.
 */
public final class ReplaceTokenHasher {
    private static final String PREFIX = "$pbkdf2-sha512$";
    private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();
    private final int iterations;
    private final int keyLength;
    private final int saltLength;
    private final SecureRandom random = new SecureRandom();

    public ReplaceTokenHasher(int iterations, int keyLength, int saltLength) {
        this.iterations = iterations;
        this.keyLength = keyLength;
        this.saltLength = saltLength;
    }

    public String hash(String token) {
        byte[] salt = new byte[saltLength];
        random.nextBytes(salt);
        byte[] key = derive(token, salt, iterations, keyLength);
        return PREFIX + iterations + "$" + B64.encodeToString(salt) + "$" + B64.encodeToString(key);
    }

    /** False for a wrong token and for a stored value that is not in the expected format. */
    public boolean matches(String token, String stored) {
        if (stored == null || !stored.startsWith(PREFIX)) {
            return false;
        }
        String[] parts = stored.substring(PREFIX.length()).split("\\$");
        if (parts.length != 3) {
            return false;
        }
        try {
            int iter = Integer.parseInt(parts[0]);
            byte[] salt = Base64.getDecoder().decode(parts[1]);
            byte[] expected = Base64.getDecoder().decode(parts[2]);
            if (iter <= 0 || expected.length == 0) {
                return false;
            }
            return MessageDigest.isEqual(expected, derive(token, salt, iter, expected.length));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static byte[] derive(String token, byte[] salt, int iterations, int keyLength) {
        try {
            // SunJCE encodes the password chars as UTF-8, as Go's pbkdf2 takes the token's bytes.
            PBEKeySpec spec = new PBEKeySpec(token.toCharArray(), salt, iterations, keyLength * 8);
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
