package dev.fleetserver.core.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys.AuthResult;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.Doc;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedApiKeysTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");

    @TempDir
    Path dataDir;

    private SqliteDocumentStore store;
    private EmbeddedApiKeys apiKeys;

    @BeforeEach
    void open() {
        store = SqliteDocumentStore.open(dataDir);
        apiKeys = new EmbeddedApiKeys(store, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void aCreatedKeyAuthenticatesAsValid() throws Exception {
        ApiKey key = await(apiKeys.create("agent-1", object("{\"role\":{}}"), object("{\"agent_id\":\"agent-1\"}")));

        assertThat(key.id()).hasSize(20).matches("[A-Za-z0-9_-]+");
        assertThat(key.key()).hasSize(22).matches("[A-Za-z0-9_-]+");
        assertThat(await(apiKeys.authenticate(key))).isEqualTo(AuthResult.VALID);
    }

    @Test
    void keysAreStoredWithTheirAttributesAndWithoutTheSecret() throws Exception {
        ApiKey key = await(apiKeys.create("agent-1", object("{\"role\":{\"cluster\":[]}}"), object("{\"type\":\"access\"}")));

        Doc doc = await(store.get(EmbeddedApiKeys.INDEX, key.id())).orElseThrow();
        assertThat(doc.source().toString()).doesNotContain(key.key());
        assertThat(doc.source().get("name").asText()).isEqualTo("agent-1");
        assertThat(doc.source().get("hash").asText()).hasSize(64).matches("[0-9a-f]+");
        assertThat(doc.source().get("role_descriptors")).isEqualTo(object("{\"role\":{\"cluster\":[]}}"));
        assertThat(doc.source().get("metadata")).isEqualTo(object("{\"type\":\"access\"}"));
        assertThat(doc.source().get("invalidated").asBoolean()).isFalse();
        assertThat(doc.source().get("creation").asLong()).isEqualTo(NOW.toEpochMilli());
    }

    @Test
    void eachKeyIsDifferent() throws Exception {
        ApiKey first = await(apiKeys.create("a", object("{}"), object("{}")));
        ApiKey second = await(apiKeys.create("a", object("{}"), object("{}")));

        assertThat(second.id()).isNotEqualTo(first.id());
        assertThat(second.key()).isNotEqualTo(first.key());
    }

    @Test
    void aWrongSecretIsUnauthorized() throws Exception {
        ApiKey key = await(apiKeys.create("agent-1", object("{}"), object("{}")));

        assertUnauthorized(apiKeys.authenticate(new ApiKey(key.id(), key.key() + "x")));
        assertUnauthorized(apiKeys.authenticate(new ApiKey(key.id(), "")));
    }

    @Test
    void anUnknownIdIsUnauthorized() {
        assertUnauthorized(apiKeys.authenticate(new ApiKey("no-such-key-id-00000", "secret")));
    }

    @Test
    void anInvalidatedKeyIsDisabledAndUnknownIdsAreIgnored() throws Exception {
        ApiKey invalidated = await(apiKeys.create("agent-1", object("{}"), object("{}")));
        ApiKey kept = await(apiKeys.create("agent-2", object("{}"), object("{}")));

        await(apiKeys.invalidate(List.of(invalidated.id(), "unknown-id", invalidated.id())));

        assertThat(await(apiKeys.authenticate(invalidated))).isEqualTo(AuthResult.DISABLED);
        assertThat(await(apiKeys.authenticate(kept))).isEqualTo(AuthResult.VALID);
        assertUnauthorized(apiKeys.authenticate(new ApiKey(invalidated.id(), "wrong")));
    }

    @Test
    void invalidatingNothingCompletes() throws Exception {
        await(apiKeys.invalidate(List.of()));
    }

    private static void assertUnauthorized(CompletableFuture<AuthResult> result) {
        try {
            result.get(5, TimeUnit.SECONDS);
            throw new AssertionError("expected ErrUnauthorized");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(FleetException.class);
            assertThat(((FleetException) e.getCause()).error()).isEqualTo(FleetError.UNAUTHORIZED);
            assertThat(((FleetException) e.getCause()).error().errorName()).isEqualTo("ErrUnauthorized");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static ObjectNode object(String json) throws Exception {
        return (ObjectNode) MAPPER.readTree(json);
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(5, TimeUnit.SECONDS);
    }
}
