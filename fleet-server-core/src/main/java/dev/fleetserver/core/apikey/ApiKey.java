package dev.fleetserver.core.apikey;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * An API key as agents present it: {@code id} and secret {@code key}. The wire token is {@code base64(id:key)}.
 * {@link #toString()} never reveals the secret.
 */
public record ApiKey(String id, String key) {

    /** {@code base64(id:key)}, the value after {@code ApiKey } in an Authorization header. */
    public String token() {
        return Base64.getEncoder().encodeToString((id + ":" + key).getBytes(StandardCharsets.UTF_8));
    }

    /** {@code id:key}, the form output API keys take in a policy. */
    public String plain() {
        return id + ":" + key;
    }

    @Override
    public String toString() {
        return "ApiKey[id=" + id + "]";
    }
}
