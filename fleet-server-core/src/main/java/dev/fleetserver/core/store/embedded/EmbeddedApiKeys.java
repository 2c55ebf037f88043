package dev.fleetserver.core.store.embedded;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.WriteOp;
import dev.fleetserver.core.store.WriteResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * {@link ApiKeys} on a {@link DocumentStore}, for the embedded mode: one document per key in
 * {@value #INDEX} (id = key id) holding {@code name}, {@code hash} (hex SHA-256 of the secret; the secret itself
 * is never stored), {@code role_descriptors}, {@code metadata}, {@code invalidated} and {@code creation} (epoch
 * millis). Secrets are 128 random bits, so a single fast hash suffices.
 */
public final class EmbeddedApiKeys implements ApiKeys {
    /** The internal index holding the keys. */
    public static final String INDEX = ".fleet-embedded-api-keys";

    private static final int ID_BYTES = 15;  // 20 URL-safe base64 characters, like Elasticsearch key ids
    private static final int KEY_BYTES = 16; // 22 URL-safe base64 characters, 128 bits

    private final DocumentStore store;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Base64.Encoder encoder = Base64.getUrlEncoder().withoutPadding();

    public EmbeddedApiKeys(DocumentStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    public EmbeddedApiKeys(DocumentStore store) {
        this(store, Clock.systemUTC());
    }

    @Override
    public CompletableFuture<ApiKey> create(String name, ObjectNode roleDescriptors, ObjectNode metadata) {
        ApiKey key = new ApiKey(randomToken(ID_BYTES), randomToken(KEY_BYTES));
        ObjectNode doc = JsonNodeFactory.instance.objectNode();
        doc.put("name", name);
        doc.put("hash", hash(key.key()));
        doc.set("role_descriptors", roleDescriptors == null ? null : roleDescriptors.deepCopy());
        doc.set("metadata", metadata == null ? null : metadata.deepCopy());
        doc.put("invalidated", false);
        doc.put("creation", clock.millis());
        return store.create(INDEX, key.id(), doc).thenApply(seqNo -> key);
    }

    @Override
    public CompletableFuture<AuthResult> authenticate(ApiKey key) {
        if (key == null || key.id() == null || key.key() == null) {
            return CompletableFuture.failedFuture(new FleetException(FleetError.UNAUTHORIZED));
        }
        return store.get(INDEX, key.id()).thenApply(found -> {
            JsonNode storedHash = found.map(doc -> doc.source().get("hash")).orElse(null);
            if (storedHash == null || !storedHash.isTextual() || !MessageDigest.isEqual(
                storedHash.textValue().getBytes(StandardCharsets.US_ASCII),
                hash(key.key()).getBytes(StandardCharsets.US_ASCII))) {
                throw new FleetException(FleetError.UNAUTHORIZED);
            }
            return found.get().source().path("invalidated").asBoolean(false) ? AuthResult.DISABLED : AuthResult.VALID;
        });
    }

    @Override
    public CompletableFuture<Void> invalidate(Collection<String> ids) {
        ObjectNode invalidated = JsonNodeFactory.instance.objectNode().put("invalidated", true);
        List<WriteOp> ops = ids.stream().distinct()
            .<WriteOp>map(id -> new WriteOp.Update(INDEX, id, invalidated))
            .toList();
        return store.bulk(ops).thenAccept(results -> {
            for (WriteResult result : results) {
                if (!result.ok() && !(result.error() instanceof StoreException.NotFound)) {
                    throw result.error();
                }
            }
        });
    }

    private String randomToken(int bytes) {
        byte[] buffer = new byte[bytes];
        random.nextBytes(buffer);
        return encoder.encodeToString(buffer);
    }

    private static String hash(String secret) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
