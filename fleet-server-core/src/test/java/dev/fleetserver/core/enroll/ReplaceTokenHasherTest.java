package dev.fleetserver.core.enroll;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class ReplaceTokenHasherTest {
    // Small cost: the format is what is under test, not the strength.
    private final ReplaceTokenHasher hasher = new ReplaceTokenHasher(1000, 32, 16);

    /** PBKDF2-HMAC-SHA512 written out from RFC 8018 section 5.2, over the password's UTF-8 bytes. */
    private static byte[] pbkdf2Sha512(byte[] password, byte[] salt, int iterations, int length) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA512");
        mac.init(new SecretKeySpec(password, "HmacSHA512"));
        byte[] out = new byte[length];
        int hLen = mac.getMacLength();
        for (int block = 1, pos = 0; pos < length; block++, pos += hLen) {
            mac.update(salt);
            byte[] u = mac.doFinal(new byte[] {(byte) (block >>> 24), (byte) (block >>> 16), (byte) (block >>> 8), (byte) block});
            byte[] t = u.clone();
            for (int i = 1; i < iterations; i++) {
                u = mac.doFinal(u);
                for (int j = 0; j < t.length; j++) {
                    t[j] ^= u[j];
                }
            }
            System.arraycopy(t, 0, out, pos, Math.min(hLen, length - pos));
        }
        return out;
    }

    @Test
    void theReferenceImplementationInThisTestMatchesThePublishedVector() throws Exception {
        // PBKDF2-HMAC-SHA512("password", "salt", c=1, dkLen=64), the widely published test vector
        byte[] dk = pbkdf2Sha512("password".getBytes(StandardCharsets.US_ASCII), "salt".getBytes(StandardCharsets.US_ASCII), 1, 64);

        assertThat(HexFormat.of().formatHex(dk)).isEqualTo("867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
                + "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
    }

    @Test
    void hashesHaveTheOriginalsFormatWithUnpaddedBase64() {
        String stored = hasher.hash("replace-me");

        assertThat(stored).matches("\\$pbkdf2-sha512\\$1000\\$[A-Za-z0-9+/]+\\$[A-Za-z0-9+/]+");
        String[] parts = stored.split("\\$");
        assertThat(Base64.getDecoder().decode(parts[3])).hasSize(16);
        assertThat(Base64.getDecoder().decode(parts[4])).hasSize(32);
        assertThat(stored).doesNotContain("=").doesNotContain("replace-me");
    }

    @Test
    void eachHashHasItsOwnSalt() {
        assertThat(hasher.hash("same")).isNotEqualTo(hasher.hash("same"));
    }

    @Test
    void theRightTokenMatchesAndAWrongOneDoesNot() {
        String stored = hasher.hash("the-token");

        assertThat(hasher.matches("the-token", stored)).isTrue();
        assertThat(hasher.matches("the-token ", stored)).isFalse();
        assertThat(hasher.matches("The-token", stored)).isFalse();
        assertThat(hasher.matches("", stored)).isFalse();
    }

    @Test
    void aHashVerifiesWithAnyHasherWhateverItsOwnSettings() {
        String stored = new ReplaceTokenHasher(10, 64, 8).hash("tok");

        assertThat(hasher.matches("tok", stored)).isTrue();
    }

    @Test
    void theHashIsPbkdf2Sha512OfTheTokensUtf8BytesWithTheStoredSalt() throws Exception {
        String token = "tøken-✓";
        String stored = hasher.hash(token);
        String[] parts = stored.substring("$pbkdf2-sha512$".length()).split("\\$");
        byte[] salt = Base64.getDecoder().decode(parts[1]);

        byte[] expected = pbkdf2Sha512(token.getBytes(StandardCharsets.UTF_8), salt, Integer.parseInt(parts[0]), 32);

        assertThat(Base64.getDecoder().decode(parts[2])).isEqualTo(expected);
    }

    @Test
    void aValueComputedIndependentlyForAKnownSaltMatches() throws Exception {
        byte[] salt = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f");
        byte[] key = pbkdf2Sha512("agent-replace-token".getBytes(StandardCharsets.UTF_8), salt, 4096, 32);
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        String stored = "$pbkdf2-sha512$4096$" + b64.encodeToString(salt) + "$" + b64.encodeToString(key);

        assertThat(hasher.matches("agent-replace-token", stored)).isTrue();
        assertThat(hasher.matches("agent-replace-tokeN", stored)).isFalse();
    }

    @Test
    void thePublishedVectorInTheStoredFormatMatches() {
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        byte[] dk = HexFormat.of().parseHex("867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
                + "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
        String stored = "$pbkdf2-sha512$1$" + b64.encodeToString("salt".getBytes(StandardCharsets.US_ASCII)) + "$" + b64.encodeToString(dk);

        assertThat(hasher.matches("password", stored)).isTrue();
    }

    @ParameterizedTest(name = "stored \"{0}\" never matches")
    @NullSource
    @ValueSource(strings = {
        "",
        "plain-token",
        "$pbkdf2-sha256$1000$c2FsdHNhbHQ$a2V5",
        "$pbkdf2-sha512$",
        "$pbkdf2-sha512$1000$c2FsdHNhbHQ",
        "$pbkdf2-sha512$abc$c2FsdHNhbHQ$a2V5",
        "$pbkdf2-sha512$0$c2FsdHNhbHQ$a2V5",
        "$pbkdf2-sha512$-5$c2FsdHNhbHQ$a2V5",
        "$pbkdf2-sha512$1000$not*base64$a2V5",
        "$pbkdf2-sha512$1000$c2FsdHNhbHQ$not*base64",
        "$pbkdf2-sha512$1000$c2FsdHNhbHQ$",
        "$pbkdf2-sha512$1000$$a2V5",
        "$pbkdf2-sha512$1000$c2FsdHNhbHQ$a2V5$extra",
    })
    void malformedStoredValuesNeverMatch(String stored) {
        assertThat(hasher.matches("token", stored)).isFalse();
    }
}
