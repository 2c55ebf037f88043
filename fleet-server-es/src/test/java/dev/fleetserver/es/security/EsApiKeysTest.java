package dev.fleetserver.es.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.FleetRoles;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.es.testing.EsTestSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Agent keys are real Elasticsearch API keys, created and invalidated by the fleet-server service account. */
class EsApiKeysTest {
    private EsClient client;
    private EsApiKeys keys;

    /** Requests to {@code _security} this test's client sent. */
    private final AtomicInteger securityRequests = new AtomicInteger();

    @BeforeEach
    void open() {
        client = EsTestSupport.countingClient(ElasticsearchTestCluster.shared(), "_security", securityRequests);
        keys = new EsApiKeys(client, 8);
    }

    @AfterEach
    void close() {
        client.close();
    }

    @Test
    void aCreatedKeyAuthenticatesUntilItIsInvalidated() throws Exception {
        ApiKey key = keys.create("agent-1", accessRoles(), Json.object().put("agent_id", "agent-1").put("type", "access"))
                .get(30, TimeUnit.SECONDS);
        assertThat(keys.authenticate(key).get(30, TimeUnit.SECONDS)).isEqualTo(ApiKeys.AuthResult.VALID);

        keys.invalidate(List.of(key.id())).get(30, TimeUnit.SECONDS);

        assertThat(errorOf(key)).isEqualTo(FleetError.UNAUTHORIZED);
    }

    @Test
    void aWrongSecretIsUnauthorized() throws Exception {
        ApiKey key = keys.create("agent-2", accessRoles(), Json.object()).get(30, TimeUnit.SECONDS);
        assertThat(errorOf(new ApiKey(key.id(), "not-the-secret-at-all"))).isEqualTo(FleetError.UNAUTHORIZED);
        assertThat(errorOf(new ApiKey("no-such-key-id-00000", "x"))).isEqualTo(FleetError.UNAUTHORIZED);
    }

    @Test
    void theKeyCarriesTheReferenceRoleDescriptorAndMetadata() throws Exception {
        ApiKey key = keys.create("agent-3", accessRoles(),
                Json.object().put("agent_id", "agent-3").put("managed", true).put("managed_by", "fleet-server").put("type", "access"))
                .get(30, TimeUnit.SECONDS);
        String info = ElasticsearchTestCluster.shared().request("GET", "/_security/api_key?id=" + key.id(), null);
        var json = Json.MAPPER.readTree(info).at("/api_keys/0");
        assertThat(json.get("name").asText()).isEqualTo("agent-3");
        assertThat(json.at("/metadata/managed_by").asText()).isEqualTo("fleet-server");
        assertThat(json.at("/role_descriptors/fleet-apikey-access/applications/0/privileges/0").asText()).isEqualTo("no-privileges");
    }

    @Test
    void everyKeyOfABurstOfCreationsIsVisibleToInvalidationAsSoonAsItIsReturned() throws Exception {
        // Created together, most of them share a refresh (wait_for) instead of forcing one each.
        List<CompletableFuture<ApiKey>> created = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            created.add(keys.create("burst-" + i, accessRoles(), Json.object().put("agent_id", "burst-" + i).put("type", "access")));
        }
        for (CompletableFuture<ApiKey> f : created) {
            ApiKey key = f.get(60, TimeUnit.SECONDS);
            // The key listing searches the security index: it sees only what a refresh made visible.
            String info = ElasticsearchTestCluster.shared().request("GET", "/_security/api_key?id=" + key.id(), null);
            assertThat(Json.MAPPER.readTree(info).at("/api_keys/0/id").asText()).isEqualTo(key.id());
            keys.invalidate(List.of(key.id())).get(30, TimeUnit.SECONDS);
            assertThat(errorOf(key)).isEqualTo(FleetError.UNAUTHORIZED);
        }
    }

    @Test
    void keysRecheckedTogetherAreLookedUpInOneRequest() throws Exception {
        List<ApiKey> created = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            created.add(keys.create("recheck-" + i, accessRoles(), Json.object().put("agent_id", "recheck-" + i).put("type", "access"))
                    .get(30, TimeUnit.SECONDS));
        }
        int before = securityRequests.get();

        List<CompletableFuture<ApiKeys.AuthResult>> rechecks = created.stream().map(keys::recheck).toList();

        for (CompletableFuture<ApiKeys.AuthResult> r : rechecks) {
            assertThat(r.get(30, TimeUnit.SECONDS)).isEqualTo(ApiKeys.AuthResult.VALID);
        }
        assertThat(securityRequests.get() - before).as("_security requests for 12 re-checks").isEqualTo(1);
    }

    @Test
    void aRecheckOfAnInvalidatedOrUnknownKeyIsUnauthorizedAsItsAuthenticationWouldBe() throws Exception {
        ApiKey valid = keys.create("recheck-valid", accessRoles(), Json.object()).get(30, TimeUnit.SECONDS);
        ApiKey invalidated = keys.create("recheck-invalidated", accessRoles(), Json.object()).get(30, TimeUnit.SECONDS);
        keys.invalidate(List.of(invalidated.id())).get(30, TimeUnit.SECONDS);

        CompletableFuture<ApiKeys.AuthResult> stillValid = keys.recheck(valid);
        FleetError[] errors = {errorOf(keys.recheck(invalidated)), errorOf(keys.recheck(new ApiKey("no-such-key-id-00001", "x")))};

        assertThat(stillValid.get(30, TimeUnit.SECONDS)).isEqualTo(ApiKeys.AuthResult.VALID);
        assertThat(errors).containsExactly(FleetError.UNAUTHORIZED, FleetError.UNAUTHORIZED);
    }

    private FleetError errorOf(ApiKey key) {
        return errorOf(keys.authenticate(key));
    }

    private static FleetError errorOf(CompletableFuture<ApiKeys.AuthResult> check) {
        try {
            check.get(30, TimeUnit.SECONDS);
            return null;
        } catch (Exception e) {
            return Futures.unwrap(e) instanceof FleetException f ? f.error() : null;
        }
    }

    static ObjectNode accessRoles() {
        return FleetRoles.access();
    }
}
