package dev.fleetserver.core.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.util.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ApiKeyAuthenticatorTest {
    private static final Duration TTL = Duration.ofMinutes(15);

    private final FakeApiKeys port = new FakeApiKeys();
    private final MutableClock clock = new MutableClock(Instant.parse("2024-05-01T12:00:00Z"));
    private final ApiKeyAuthenticator auth = new ApiKeyAuthenticator(port, clock, TTL, Duration.ZERO, 1000);

    private static void ok(CompletableFuture<Void> f) throws Exception {
        f.get(5, TimeUnit.SECONDS);
    }

    private static FleetError error(CompletableFuture<Void> f) {
        Throwable[] cause = new Throwable[1];
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .satisfies(e -> cause[0] = e.getCause());
        assertThat(cause[0]).isInstanceOf(FleetException.class);
        return ((FleetException) cause[0]).error();
    }

    @Test
    void aValidKeyIsAuthenticatedByThePortOnceAndThenFromTheCache() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);

        for (int i = 0; i < 5; i++) {
            ok(auth.authenticate(key));
        }

        assertThat(port.calls.get()).isEqualTo(1);
    }

    @Test
    void aWrongSecretForACachedIdGoesToThePortAndFails() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        ok(auth.authenticate(key));

        FleetError err = error(auth.authenticate(new ApiKey("id1", "wrong")));

        assertThat(err).isEqualTo(FleetError.UNAUTHORIZED);
        assertThat(port.calls.get()).isEqualTo(2);
        // the right secret is still served from the cache
        ok(auth.authenticate(key));
        assertThat(port.calls.get()).isEqualTo(2);
    }

    @Test
    void anUnknownKeyFailsAndIsNotCached() {
        ApiKey unknown = new ApiKey("nope", "x");

        assertThat(error(auth.authenticate(unknown))).isEqualTo(FleetError.UNAUTHORIZED);
        assertThat(error(auth.authenticate(unknown))).isEqualTo(FleetError.UNAUTHORIZED);
        assertThat(port.calls.get()).isEqualTo(2);
    }

    @Test
    void forgetForcesARoundTrip() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        ok(auth.authenticate(key));

        auth.forget("id1");
        ok(auth.authenticate(key));

        assertThat(port.calls.get()).isEqualTo(2);
    }

    @Test
    void aForgottenKeyThatWasInvalidatedMeanwhileFails() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        ok(auth.authenticate(key));
        port.add("id1", "secret1", ApiKeys.AuthResult.DISABLED);

        ok(auth.authenticate(key));
        auth.forget("id1");

        assertThat(error(auth.authenticate(key))).isEqualTo(FleetError.API_KEY_NOT_ENABLED);
    }

    @Test
    void cachedEntriesExpireAfterTheTtl() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        ok(auth.authenticate(key));

        clock.advance(TTL.minusSeconds(1));
        ok(auth.authenticate(key));
        assertThat(port.calls.get()).isEqualTo(1);

        clock.advance(Duration.ofSeconds(1));
        ok(auth.authenticate(key));
        assertThat(port.calls.get()).isEqualTo(2);
    }

    @Test
    void theSameSecretIsRecheckedWhenItsEntryEndsAndAnotherSecretIsAuthenticatedAfresh() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        ok(auth.authenticate(key));
        clock.advance(TTL);

        assertThat(error(auth.authenticate(new ApiKey("id1", "wrong")))).isEqualTo(FleetError.UNAUTHORIZED);
        assertThat(port.rechecks.get()).as("a secret never accepted is never only re-checked").isZero();

        ok(auth.authenticate(key));
        assertThat(port.rechecks.get()).isEqualTo(1);
        port.add("id1", "secret1", ApiKeys.AuthResult.DISABLED);
        clock.advance(TTL);
        assertThat(error(auth.authenticate(key))).as("a re-check's answer is cached as an authentication's")
                .isEqualTo(FleetError.API_KEY_NOT_ENABLED);
        assertThat(port.rechecks.get()).isEqualTo(2);
    }

    @Test
    void jitterOnlyShortensTheTtl() throws Exception {
        ApiKeyAuthenticator jittered = new ApiKeyAuthenticator(port, clock, TTL, Duration.ofMinutes(5), 1000);
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        ok(jittered.authenticate(key));

        clock.advance(Duration.ofMinutes(10).minusMillis(1));
        ok(jittered.authenticate(key));
        assertThat(port.calls.get()).isEqualTo(1);

        clock.advance(Duration.ofMinutes(5).plusMillis(1));
        ok(jittered.authenticate(key));
        assertThat(port.calls.get()).isEqualTo(2);
    }

    @Test
    void aDisabledKeyFailsWithApiKeyNotEnabledAndThatIsCachedToo() {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.DISABLED);

        FleetException[] seen = new FleetException[1];
        assertThatThrownBy(() -> auth.authenticate(key).get(5, TimeUnit.SECONDS))
                .hasCauseInstanceOf(FleetException.class)
                .satisfies(e -> seen[0] = (FleetException) e.getCause());
        assertThat(seen[0].error()).isEqualTo(FleetError.API_KEY_NOT_ENABLED);
        assertThat(seen[0].getMessage()).isEqualTo("ApiKey not enabled");

        assertThat(error(auth.authenticate(key))).isEqualTo(FleetError.API_KEY_NOT_ENABLED);
        assertThat(port.calls.get()).isEqualTo(1);
    }

    @Test
    void rememberedKeysNeedNoRoundTrip() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        auth.remember(key);

        ok(auth.authenticate(key));

        assertThat(port.calls.get()).isZero();
    }

    @Test
    void aFullCacheStillAuthenticatesEveryKey() throws Exception {
        ApiKeyAuthenticator small = new ApiKeyAuthenticator(port, clock, TTL, Duration.ZERO, 10);
        for (int i = 0; i < 50; i++) {
            ok(small.authenticate(port.add("id" + i, "s" + i, ApiKeys.AuthResult.VALID)));
        }
        for (int i = 0; i < 50; i++) {
            ok(small.authenticate(new ApiKey("id" + i, "s" + i)));
        }
        assertThat(port.calls.get()).isBetween(50, 100);
    }

    @Test
    void aPortOutageIsPassedOnAndNotCached() throws Exception {
        ApiKey key = port.add("id1", "secret1", ApiKeys.AuthResult.VALID);
        port.down = true;

        assertThatThrownBy(() -> auth.authenticate(key).get(5, TimeUnit.SECONDS))
                .hasCauseInstanceOf(IllegalStateException.class);

        port.down = false;
        ok(auth.authenticate(key));
        assertThat(port.calls.get()).isEqualTo(2);
    }

    /** Keys by id, each with its secret and result; counts authentication round trips. */
    private static final class FakeApiKeys implements ApiKeys {
        final Map<String, String[]> keys = new ConcurrentHashMap<>();
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger rechecks = new AtomicInteger();
        volatile boolean down;

        ApiKey add(String id, String secret, AuthResult result) {
            keys.put(id, new String[] {secret, result.name()});
            return new ApiKey(id, secret);
        }

        @Override
        public CompletableFuture<ApiKey> create(String name, ObjectNode roleDescriptors, ObjectNode metadata) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<AuthResult> recheck(ApiKey key) {
            rechecks.incrementAndGet();
            return authenticate(key);
        }

        @Override
        public CompletableFuture<AuthResult> authenticate(ApiKey key) {
            calls.incrementAndGet();
            if (down) {
                return CompletableFuture.failedFuture(new IllegalStateException("store down"));
            }
            String[] k = keys.get(key.id());
            if (k == null || !k[0].equals(key.key())) {
                return CompletableFuture.failedFuture(new FleetException(FleetError.UNAUTHORIZED));
            }
            return CompletableFuture.completedFuture(AuthResult.valueOf(k[1]));
        }

        @Override
        public CompletableFuture<Void> invalidate(Collection<String> ids) {
            throw new UnsupportedOperationException();
        }
    }
}
