package dev.fleetserver.core.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class AuthHeaderTest {

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertError(ThrowingCallable call, FleetError expected) {
        assertThatThrownBy(call).isInstanceOfSatisfying(FleetException.class, e -> assertThat(e.error()).isEqualTo(expected));
    }

    @Test
    void aWellFormedHeaderGivesTheIdAndTheSecret() {
        ApiKey key = AuthHeader.parse(List.of("ApiKey " + b64("my-id:my-secret")));

        assertThat(key.id()).isEqualTo("my-id");
        assertThat(key.key()).isEqualTo("my-secret");
    }

    @Test
    void theTokenIsTrimmedAndRoundTripsWithApiKeyToken() {
        ApiKey original = new ApiKey("abc", "def");

        assertThat(AuthHeader.parse(List.of("ApiKey   " + original.token() + "  "))).isEqualTo(original);
    }

    @Test
    void aMissingHeaderIsErrNoAuthHeader() {
        assertError(() -> AuthHeader.parse(null), FleetError.NO_AUTH_HEADER);
        assertError(() -> AuthHeader.parse(List.of()), FleetError.NO_AUTH_HEADER);
        assertThat(FleetError.NO_AUTH_HEADER.errorName()).isEqualTo("ErrNoAuthHeader");
    }

    @Test
    void twoHeaderValuesAreErrMalformedHeader() {
        String good = "ApiKey " + b64("a:b");

        assertError(() -> AuthHeader.parse(List.of(good, good)), FleetError.MALFORMED_HEADER);
    }

    @Test
    void aWrongSchemeOrPrefixIsErrMalformedHeader() {
        String token = b64("a:b");
        List<String> bad = List.of("Bearer " + token, "apikey " + token, "APIKEY " + token, "ApiKey" + token, token, "",
                " ApiKey " + token);
        for (String value : bad) {
            List<String> values = new ArrayList<>();
            values.add(value);
            assertError(() -> AuthHeader.parse(values), FleetError.MALFORMED_HEADER);
        }
        assertThat(FleetError.MALFORMED_HEADER.errorName()).isEqualTo("ErrMalformedHeader");
    }

    @Test
    void badBase64IsErrInvalidToken() {
        assertError(() -> AuthHeader.parse(List.of("ApiKey not*base64!")), FleetError.INVALID_TOKEN);
        assertError(() -> AuthHeader.parse(List.of("ApiKey abc")), FleetError.INVALID_TOKEN);
    }

    @Test
    void urlSafeBase64IsNotStandardBase64AndIsErrInvalidToken() {
        // 0xfb 0xff encodes to "+/8=" in standard and "-_8=" in URL-safe base64
        assertError(() -> AuthHeader.parse(List.of("ApiKey -_8=")), FleetError.INVALID_TOKEN);
    }

    @Test
    void invalidUtf8IsErrInvalidToken() {
        byte[] raw = {'i', 'd', ':', (byte) 0xc3, (byte) 0x28};
        String token = Base64.getEncoder().encodeToString(raw);

        assertError(() -> AuthHeader.parse(List.of("ApiKey " + token)), FleetError.INVALID_TOKEN);
        assertThat(FleetError.INVALID_TOKEN.errorName()).isEqualTo("ErrInvalidToken");
        assertThat(FleetError.INVALID_TOKEN.defaultMessage()).isEqualTo("token not valid utf8");
    }

    @Test
    void validMultiByteUtf8IsAccepted() {
        ApiKey key = AuthHeader.parse(List.of("ApiKey " + b64("idé:sécret")));

        assertThat(key.id()).isEqualTo("idé");
        assertThat(key.key()).isEqualTo("sécret");
    }

    @Test
    void notExactlyOneColonIsErrMalformedToken() {
        for (String decoded : List.of("nocolon", "a:b:c", "", "::")) {
            assertError(() -> AuthHeader.parse(List.of("ApiKey " + b64(decoded))), FleetError.MALFORMED_TOKEN);
        }
        assertThat(FleetError.MALFORMED_TOKEN.errorName()).isEqualTo("ErrMalformedToken");
    }

    @Test
    void emptyIdOrSecretStillSplitIntoTwoParts() {
        assertThat(AuthHeader.parse(List.of("ApiKey " + b64(":secret")))).isEqualTo(new ApiKey("", "secret"));
        assertThat(AuthHeader.parse(List.of("ApiKey " + b64("id:")))).isEqualTo(new ApiKey("id", ""));
    }
}
