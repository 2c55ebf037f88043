package dev.fleetserver.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.ack.AckService;
import dev.fleetserver.core.agent.AgentKeyRevoker;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.HeldOutputKeys;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Json;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Output keys per agent on the embedded store, with a recording key port standing in for a cluster. */
class AgentOutputKeysTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2024-05-01T12:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dataDir;
    private SqliteDocumentStore store;
    private FleetRepository repo;
    private final RecordingKeys local = new RecordingKeys("local");
    private final RecordingKeys remote = new RecordingKeys("remote");
    private final List<OutputKeys.RemoteCluster> connected = new ArrayList<>();
    private OutputKeys outputKeys;
    private AgentOutputKeys keys;

    @BeforeEach
    void open() throws Exception {
        store = SqliteDocumentStore.open(dataDir);
        repo = new FleetRepository(store);
        outputKeys = OutputKeys.of(local, cluster -> {
            connected.add(cluster);
            return remote;
        });
        keys = new AgentOutputKeys(repo, outputKeys, CLOCK);
        repo.createAgent("agent-1", (ObjectNode) Json.MAPPER.readTree(
                "{\"active\":true,\"policy_id\":\"p1\",\"policy_revision_idx\":0,\"agent\":{\"id\":\"agent-1\"}}"))
                .get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** A recording key port: keys are {@code <prefix>-<n>:secret-<n>}. */
    static class RecordingKeys implements ApiKeys {
        final String prefix;
        final AtomicInteger n = new AtomicInteger();
        final List<ObjectNode> created = new ArrayList<>();
        final List<String> invalidated = new ArrayList<>();

        RecordingKeys(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public synchronized CompletableFuture<ApiKey> create(String name, ObjectNode roleDescriptors, ObjectNode metadata) {
            int i = n.incrementAndGet();
            ObjectNode call = Json.object().put("name", name);
            call.set("role_descriptors", roleDescriptors);
            call.set("metadata", metadata);
            created.add(call);
            return CompletableFuture.completedFuture(new ApiKey(prefix + "-" + i, "secret-" + i));
        }

        @Override
        public CompletableFuture<AuthResult> authenticate(ApiKey key) {
            throw new UnsupportedOperationException();
        }

        @Override
        public synchronized CompletableFuture<Void> invalidate(Collection<String> ids) {
            invalidated.addAll(ids);
            return CompletableFuture.completedFuture(null);
        }
    }

    private static String perms(String index) {
        return "{\"_elastic_agent_checks\":{\"cluster\":[\"monitor\"]},\"data\":{\"indices\":[{\"names\":[\"" + index
                + "\"],\"privileges\":[\"auto_configure\",\"create_doc\"]}]}}";
    }

    private PreparedPolicy policy(long rev, String outputsJson, String permissionsJson) throws Exception {
        ObjectNode source = (ObjectNode) Json.MAPPER.readTree("{\"policy_id\":\"p1\",\"revision_idx\":" + rev
                + ",\"data\":{\"outputs\":" + outputsJson + ",\"output_permissions\":" + permissionsJson + "}}");
        return PreparedPolicy.prepare(new PolicyRevision(new Doc(FleetIndex.POLICIES, "p1:" + rev, rev, 1, source)),
                Map.of(), outputKeys);
    }

    private PreparedPolicy defaultOnly(long rev, String index) throws Exception {
        return policy(rev, "{\"default\":{\"type\":\"elasticsearch\",\"hosts\":[\"http://es:9200\"]}}",
                "{\"default\":" + perms(index) + "}");
    }

    private Agent agent() throws Exception {
        return repo.agent("agent-1").get(5, TimeUnit.SECONDS).orElseThrow();
    }

    private JsonNode deliver(PreparedPolicy policy) throws Exception {
        return deliver(policy, agent());
    }

    private JsonNode deliver(PreparedPolicy policy, Agent agent) throws Exception {
        return Json.MAPPER.readTree(keys.responseFor(policy, agent).get(5, TimeUnit.SECONDS).toBytes())
                .at("/actions/0/data/policy");
    }

    @Test
    void theFirstDeliveryCreatesOneKeyPerOutputWithThePolicysPermissionsAndStoresIt() throws Exception {
        JsonNode sent = deliver(defaultOnly(1, "logs-*-*"));

        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("local-1:secret-1");
        assertThat(sent.at("/outputs/default/hosts/0").asText()).isEqualTo("http://es:9200");
        assertThat(local.created).hasSize(1);
        ObjectNode call = local.created.get(0);
        assertThat(call.get("name").asText()).isEqualTo("agent-1:default");
        assertThat(call.get("role_descriptors")).isEqualTo(Json.MAPPER.readTree(perms("logs-*-*")));
        assertThat(call.get("metadata")).isEqualTo(Json.MAPPER.readTree("{\"agent_id\":\"agent-1\",\"managed\":true,"
                + "\"managed_by\":\"fleet-server\",\"output_name\":\"default\",\"type\":\"output\",\"policy_id\":\"p1\"}"));
        JsonNode stored = agent().source().at("/outputs/default");
        assertThat(stored.get("api_key").asText()).isEqualTo("local-1:secret-1");
        assertThat(stored.get("api_key_id").asText()).isEqualTo("local-1");
        assertThat(stored.get("permissions_hash").asText()).isEqualTo(PermissionsHash.of(Json.MAPPER.readTree(perms("logs-*-*"))));
        assertThat(stored.get("type").asText()).isEqualTo("elasticsearch");
        assertThat(stored.get("to_retire_api_key_ids")).isEmpty();
    }

    @Test
    void aRevisionWithUnchangedPermissionsCreatesNoKey() throws Exception {
        deliver(defaultOnly(1, "logs-*-*"));
        long seqNo = agent().seqNo();

        JsonNode sent = deliver(defaultOnly(2, "logs-*-*"));

        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("local-1:secret-1");
        assertThat(local.created).hasSize(1);
        assertThat(agent().seqNo()).as("the agent document is not even written").isEqualTo(seqNo);
    }

    private JsonNode wake(PreparedPolicy policy, String agentId, HeldOutputKeys held) throws Exception {
        return Json.MAPPER.readTree(keys.responseFor(policy, agentId, held).get(5, TimeUnit.SECONDS).toBytes())
                .at("/actions/0/data/policy");
    }

    @Test
    void aParkedAgentWhoseKeysFitTheNewRevisionIsAnsweredFromWhatItsCheckinHeldWithoutReadingItsDocument() throws Exception {
        deliver(defaultOnly(1, "logs-*-*"));
        HeldOutputKeys held = HeldOutputKeys.of(agent(), s -> s);

        // Under an id with no document: a read would find nothing and send no key.
        JsonNode sent = wake(defaultOnly(2, "logs-*-*"), "not-stored", held);

        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("local-1:secret-1");
        assertThat(local.created).hasSize(1);
    }

    @Test
    void aParkedAgentWhoseKeysNoLongerFitIsAnsweredFromItsDocumentWithANewKey() throws Exception {
        deliver(defaultOnly(1, "logs-*-*"));
        HeldOutputKeys held = HeldOutputKeys.of(agent(), s -> s);

        JsonNode sent = wake(defaultOnly(2, "metrics-*-*"), "agent-1", held);

        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("local-2:secret-2");
        assertThat(agent().source().at("/outputs/default/api_key").asText()).isEqualTo("local-2:secret-2");
    }

    @Test
    void aParkedAgentWithAnEntryTheNewRevisionDropsIsAnsweredFromItsDocument() throws Exception {
        deliver(policy(1, "{\"default\":{\"type\":\"elasticsearch\"},\"second\":{\"type\":\"elasticsearch\"}}",
                "{\"default\":" + perms("logs-*") + ",\"second\":" + perms("metrics-*") + "}"));
        HeldOutputKeys held = HeldOutputKeys.of(agent(), s -> s);

        wake(defaultOnly(2, "logs-*"), "agent-1", held);

        assertThat(agent().source().path("outputs").has("second")).as("the dropped entry is removed from the document").isFalse();
    }

    @Test
    void changedPermissionsGetANewKeyAndTheOldOneIsInvalidatedOnlyAfterTheAck() throws Exception {
        deliver(defaultOnly(1, "logs-*-*"));

        JsonNode sent = deliver(defaultOnly(2, "metrics-*-*"));

        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("local-2:secret-2");
        assertThat(local.created.get(1).get("role_descriptors")).isEqualTo(Json.MAPPER.readTree(perms("metrics-*-*")));
        JsonNode retired = agent().source().at("/outputs/default/to_retire_api_key_ids");
        assertThat(retired).hasSize(1);
        assertThat(retired.get(0).get("id").asText()).isEqualTo("local-1");
        assertThat(retired.get(0).get("retired_at").asText()).isEqualTo("2024-05-01T12:00:00.000Z");
        assertThat(local.invalidated).isEmpty();

        AckService acks = new AckService(repo, new AgentKeyRevoker(repo, local, null, outputKeys, CLOCK), keys, CLOCK);
        String body = "{\"events\":[{\"type\":\"ACTION_RESULT\",\"agent_id\":\"agent-1\",\"action_id\":\"policy:p1:2\"}]}";
        acks.ack(agent(), Json.MAPPER.readTree(body)).get(5, TimeUnit.SECONDS);

        assertThat(local.invalidated).containsExactly("local-1");
        Agent after = agent();
        assertThat(after.policyRevisionIdx()).isEqualTo(2);
        assertThat(after.source().at("/outputs/default/to_retire_api_key_ids")).isEmpty();
        assertThat(after.source().at("/outputs/default/api_key_id").asText()).isEqualTo("local-2");
    }

    @Test
    void anOutputGoneFromThePolicyHasItsKeyInvalidatedAndItsEntryCleared() throws Exception {
        deliver(policy(1, "{\"default\":{\"type\":\"elasticsearch\"},\"extra\":{\"type\":\"elasticsearch\"}}",
                "{\"default\":" + perms("logs-*") + ",\"extra\":" + perms("extra-*") + "}"));
        assertThat(local.created).hasSize(2);

        JsonNode sent = deliver(defaultOnly(2, "logs-*"));

        assertThat(sent.at("/outputs").has("extra")).isFalse();
        assertThat(local.created).hasSize(2);
        assertThat(local.invalidated).containsExactly("local-2");
        JsonNode outputs = agent().source().get("outputs");
        assertThat(outputs.has("extra")).as("entry removed, not nulled").isFalse();
        assertThat(outputs.at("/default/api_key_id").asText()).isEqualTo("local-1");
        assertThat(AgentOutputKeys.missesAKey(agent())).isFalse();
    }

    @Test
    void aServerThatLosesTheRaceUsesTheWinnersKeyAndInvalidatesItsOwn() throws Exception {
        Agent stale = agent();
        PreparedPolicy policy = defaultOnly(1, "logs-*");
        JsonNode winner = deliver(policy, stale);

        JsonNode loser = deliver(policy, stale);

        assertThat(loser.at("/outputs/default/api_key").asText()).isEqualTo(winner.at("/outputs/default/api_key").asText());
        assertThat(local.created).as("the loser made a key before it knew").hasSize(2);
        assertThat(local.invalidated).as("and invalidated it after re-reading").containsExactly("local-2");
        assertThat(agent().source().at("/outputs/default/api_key_id").asText()).isEqualTo("local-1");
        assertThat(agent().source().at("/outputs/default/to_retire_api_key_ids")).isEmpty();
    }

    @Test
    void keysCreatedForNothingAfterAConflictAreInvalidated() throws Exception {
        Agent stale = agent();
        // Someone else writes the agent (a checkin, say) after our read, and gives it a different key meanwhile.
        ObjectNode other = (ObjectNode) Json.MAPPER.readTree("{\"outputs\":{\"default\":{\"api_key\":\"other:k\","
                + "\"api_key_id\":\"other\",\"type\":\"elasticsearch\",\"permissions_hash\":\""
                + PermissionsHash.of(Json.MAPPER.readTree(perms("logs-*"))) + "\"}}}");
        repo.updateAgent("agent-1", other).get(5, TimeUnit.SECONDS);

        JsonNode sent = deliver(defaultOnly(1, "logs-*"), stale);

        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("other:k");
        assertThat(local.created).hasSize(1);
        assertThat(local.invalidated).containsExactly("local-1");
    }

    @Test
    void aRemoteOutputGetsItsKeyFromTheRemoteClusterAndIsSentAsPlainElasticsearch() throws Exception {
        JsonNode sent = deliver(policy(1, "{\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"https://far:9200\"],"
                + "\"service_token\":\"tok\"}}", "{\"far\":" + perms("logs-*") + "}"));

        assertThat(connected).hasSize(1);
        assertThat(connected.get(0).hosts()).containsExactly("https://far:9200");
        assertThat(connected.get(0).serviceToken()).isEqualTo("tok");
        assertThat(remote.created).hasSize(1);
        assertThat(local.created).isEmpty();
        assertThat(sent.at("/outputs/far/type").asText()).isEqualTo("elasticsearch");
        assertThat(sent.at("/outputs/far").has("service_token")).isFalse();
        assertThat(sent.at("/outputs/far/api_key").asText()).isEqualTo("remote-1:secret-1");
        assertThat(agent().source().at("/outputs/far/type").asText()).isEqualTo("remote_elasticsearch");
    }

    @Test
    void logstashOutputsAndOutputsWithoutPermissionsAreSentAsWritten() throws Exception {
        JsonNode sent = deliver(policy(1, "{\"ls\":{\"type\":\"logstash\",\"hosts\":[\"ls:5044\"]},"
                + "\"bare\":{\"type\":\"elasticsearch\",\"api_key\":\"given:key\"}}", "{}"));

        assertThat(sent.at("/outputs/ls")).isEqualTo(Json.MAPPER.readTree("{\"type\":\"logstash\",\"hosts\":[\"ls:5044\"]}"));
        assertThat(sent.at("/outputs/bare/api_key").asText()).isEqualTo("given:key");
        assertThat(local.created).isEmpty();
    }

    @Test
    void withoutAKeyProviderOutputsAreSentAsWrittenAndTheAgentIsNotRead() throws Exception {
        outputKeys = OutputKeys.none();
        keys = new AgentOutputKeys(repo, outputKeys, CLOCK);
        PreparedPolicy policy = defaultOnly(1, "logs-*");

        assertThat(policy.keyedOutputs()).isEmpty();
        assertThat(keys.responseFor(policy, "no-such-agent").get(5, TimeUnit.SECONDS).toString())
                .isEqualTo(policy.responseFor("no-such-agent").toString());
        assertThat(deliver(policy).at("/outputs/default").has("api_key")).isFalse();
    }

    @Test
    void anEntryWithoutAKeyMakesTheAgentMissAKey() throws Exception {
        repo.updateAgent("agent-1", (ObjectNode) Json.MAPPER.readTree("{\"outputs\":{\"default\":{\"api_key\":\"\"}}}"))
                .get(5, TimeUnit.SECONDS);

        assertThat(AgentOutputKeys.missesAKey(agent())).isTrue();
        deliver(defaultOnly(1, "logs-*"));
        assertThat(AgentOutputKeys.missesAKey(agent())).isFalse();
    }

    @Test
    void unenrollingInvalidatesARemoteOutputsKeyInItsRemoteCluster() throws Exception {
        deliver(policy(1, "{\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"https://far:9200\"],"
                + "\"service_token\":\"tok\"}}", "{\"far\":" + perms("logs-*") + "}"));
        var keyCache = new dev.fleetserver.core.auth.ApiKeyAuthenticator(local, CLOCK, java.time.Duration.ofMinutes(1),
                java.time.Duration.ZERO, 10);

        new AgentKeyRevoker(repo, local, keyCache, outputKeys, CLOCK).unenroll(agent()).get(5, TimeUnit.SECONDS);

        assertThat(remote.invalidated).containsExactly("remote-1");
        assertThat(agent().active()).isFalse();
    }

    @Test
    void aRemoteClusterThatCannotIssueAKeyCostsThatOutputItsKeyNotTheCheckin() throws Exception {
        outputKeys = OutputKeys.of(local, cluster -> new RecordingKeys("down") {
            @Override
            public CompletableFuture<ApiKey> create(String name, ObjectNode roleDescriptors, ObjectNode metadata) {
                return CompletableFuture.failedFuture(new dev.fleetserver.core.store.StoreException.Unavailable("down", null));
            }
        });
        keys = new AgentOutputKeys(repo, outputKeys, CLOCK);

        JsonNode sent = deliver(policy(1, "{\"default\":{\"type\":\"elasticsearch\"},"
                + "\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"https://far:9200\"],\"service_token\":\"t\"}}",
                "{\"default\":" + perms("logs-*") + ",\"far\":" + perms("logs-*") + "}"));

        assertThat(sent.at("/outputs/far").has("api_key")).isFalse();
        assertThat(sent.at("/outputs/far/type").asText()).isEqualTo("elasticsearch");
        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("local-1:secret-1");
        assertThat(agent().source().at("/outputs").has("far")).isFalse();
    }

    @Test
    void aRemoteOutputThatCannotBeConnectedToIsSentWithoutAKeyAndTheRestOfThePolicyStillWorks() throws Exception {
        outputKeys = OutputKeys.of(local, cluster -> {
            throw new IllegalArgumentException("bad host");
        });
        keys = new AgentOutputKeys(repo, outputKeys, CLOCK);

        JsonNode sent = deliver(policy(1, "{\"default\":{\"type\":\"elasticsearch\"},"
                + "\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"::bad\"],\"service_token\":\"t\"}}",
                "{\"default\":" + perms("logs-*") + ",\"far\":" + perms("logs-*") + "}"));

        assertThat(sent.at("/outputs/far").has("api_key")).isFalse();
        assertThat(sent.at("/outputs/default/api_key").asText()).isEqualTo("local-1:secret-1");
    }

    private void ack(String actionId) throws Exception {
        AckService acks = new AckService(repo, new AgentKeyRevoker(repo, local, null, outputKeys, CLOCK), keys, CLOCK);
        String body = "{\"events\":[{\"type\":\"ACTION_RESULT\",\"agent_id\":\"agent-1\",\"action_id\":\"" + actionId + "\"}]}";
        acks.ack(agent(), Json.MAPPER.readTree(body)).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aKeyReplacedInARevisionTheAgentHasNotReachedYetSurvivesTheAckOfAnOlderOne() throws Exception {
        deliver(defaultOnly(1, "logs-*"));
        deliver(defaultOnly(3, "metrics-*"));
        JsonNode entry = agent().source().at("/outputs/default/to_retire_api_key_ids/0");
        assertThat(entry.get("policy_id").asText()).isEqualTo("p1");
        assertThat(entry.get("revision_idx").asLong()).isEqualTo(3);

        ack("policy:p1:2");

        assertThat(local.invalidated).isEmpty();
        assertThat(agent().source().at("/outputs/default/to_retire_api_key_ids")).hasSize(1);

        ack("policy:p1:3");

        assertThat(local.invalidated).containsExactly("local-1");
        assertThat(agent().source().at("/outputs/default/to_retire_api_key_ids")).isEmpty();
    }

    @Test
    void anAgentReportingItRunsTheNewRevisionHasTheReplacedKeyRetiredWithoutAnAck() throws Exception {
        deliver(defaultOnly(1, "logs-*"));
        deliver(defaultOnly(2, "metrics-*"));

        keys.retireReported(agent(), 1).get(5, TimeUnit.SECONDS);
        assertThat(local.invalidated).isEmpty();

        keys.retireReported(agent(), 2).get(5, TimeUnit.SECONDS);
        assertThat(local.invalidated).containsExactly("local-1");
        assertThat(agent().source().at("/outputs/default/to_retire_api_key_ids")).isEmpty();
        assertThat(agent().source().at("/outputs/default/api_key_id").asText()).isEqualTo("local-2");
    }

    @Test
    void retiredEntriesWrittenByTheOriginalAreDueAtTheNextAck() throws Exception {
        deliver(defaultOnly(1, "logs-*"));
        repo.updateAgent("agent-1", (ObjectNode) Json.MAPPER.readTree("{\"outputs\":{\"default\":{\"to_retire_api_key_ids\":"
                + "[{\"id\":\"go-old\",\"retired_at\":\"2024-01-01T00:00:00Z\"}]}}}")).get(5, TimeUnit.SECONDS);

        ack("policy:p1:1");

        assertThat(local.invalidated).containsExactly("go-old");
    }

    @Test
    void aRemoteOutputMovedToOtherHostsGetsANewKeyButTheSameHostsKeepIt() throws Exception {
        String perms = "{\"far\":" + perms("logs-*") + "}";
        deliver(policy(1, "{\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"https://a:9200\"],\"service_token\":\"t\"}}", perms));
        deliver(policy(2, "{\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"https://a:9200\"],\"service_token\":\"t\"}}", perms));
        assertThat(remote.created).hasSize(1);

        JsonNode sent = deliver(policy(3, "{\"far\":{\"type\":\"remote_elasticsearch\",\"hosts\":[\"https://b:9200\"],"
                + "\"service_token\":\"t\"}}", perms));

        assertThat(remote.created).hasSize(2);
        assertThat(sent.at("/outputs/far/api_key").asText()).isEqualTo("remote-2:secret-2");
        assertThat(agent().source().at("/outputs/far/hosts/0").asText()).isEqualTo("https://b:9200");
        assertThat(connected).extracting(OutputKeys.RemoteCluster::hosts)
                .containsExactly(List.of("https://a:9200"), List.of("https://b:9200"));
    }
}
