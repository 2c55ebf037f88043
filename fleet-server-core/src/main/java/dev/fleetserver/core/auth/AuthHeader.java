package dev.fleetserver.core.auth;

import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** Parses {@code Authorization: ApiKey base64(id:key)} with the original's error for each way it can be wrong. */
public final class AuthHeader {
    private static final String PREFIX = "ApiKey ";

    private AuthHeader() {
    }

    /**
     * @param values every value of the Authorization header in the request (usually one)
     * @throws FleetException ErrNoAuthHeader, ErrMalformedHeader, ErrInvalidToken or ErrMalformedToken
     */
    public static ApiKey parse(List<String> values) {
        if (values == null || values.isEmpty()) {
            throw new FleetException(FleetError.NO_AUTH_HEADER);
        }
        if (values.size() > 1 || !values.get(0).startsWith(PREFIX)) {
            throw new FleetException(FleetError.MALFORMED_HEADER);
        }
        String token = values.get(0).substring(PREFIX.length()).trim();
        String decoded;
        try {
            byte[] raw = Base64.getDecoder().decode(token);
            decoded = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (IllegalArgumentException | CharacterCodingException e) {
            throw new FleetException(FleetError.INVALID_TOKEN);
        }
        String[] parts = decoded.split(":", -1);
        if (parts.length != 2) {
            throw new FleetException(FleetError.MALFORMED_TOKEN);
        }
        return new ApiKey(parts[0], parts[1]);
    }
}
