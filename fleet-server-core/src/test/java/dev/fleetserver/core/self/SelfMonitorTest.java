package dev.fleetserver.core.self;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.ManualScheduler;
import dev.fleetserver.core.util.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server's own agent document on the embedded store, with time and heartbeats under the test's control. */
class SelfMonitorTest {
    private static final String ID = "5c2f7a3e-0000-4000-8000-000000000001";
    private static final HostFacts HOST = new HostFacts("fs-01", "machine-1", List.of("10.0.0.5/24"),
            List.of("02-42-ac-11-00-02"), "x86_64", "debian", "ubuntu", "Ubuntu", "22.04", "6.1.0", "Ubuntu 22.04");

    @TempDir
    Path dataDir;
    SqliteDocumentStore store;
    FleetRepository repo;
    MutableClock clock;
    ManualScheduler scheduler;
    HealthSignals health;

    @BeforeEach
    void open() throws Exception {
        store = SqliteDocumentStore.open(dataDir);
        repo = new FleetRepository(store);
        clock = new MutableClock(Instant.parse("2026-12-02T10:00:00Z"));
        scheduler = new ManualScheduler();
        health = new HealthSignals(clock);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private SelfMonitor monitor(String configuredPolicyId) {
        return new SelfMonitor(repo, health, scheduler, clock, new SelfMonitor.Settings(configuredPolicyId, ID, "8.19.0",
                HOST, 4242, Duration.ofSeconds(30), "info", "Elasticsearch"));
    }

    /** A revision as Kibana deploys it; with a fleet-server input when {@code inputId} is not null. */
    private void policy(String policyId, long revision, boolean defaultFleetServer, String inputId) throws Exception {
        ObjectNode doc = Json.object();
        doc.put("@timestamp", clock.instant().toString());
        doc.put("policy_id", policyId);
        doc.put("revision_idx", revision);
        doc.put("coordinator_idx", 0);
        doc.put("default_fleet_server", defaultFleetServer);
        ObjectNode data = doc.putObject("data");
        data.put("id", policyId);
        data.put("revision", revision);
        var inputs = data.putArray("inputs");
        if (inputId != null) {
            ObjectNode input = inputs.addObject();
            input.put("id", inputId);
            input.put("type", "fleet-server");
            input.putObject("server").putObject("limits").put("max_connections", 100);
        }
        repo.createPolicyRevision(policyId + ":" + revision, doc).get(5, TimeUnit.SECONDS);
    }

    private JsonNode self() throws Exception {
        return store.get(FleetIndex.AGENTS, ID).get(5, TimeUnit.SECONDS).orElseThrow().source();
    }

    private boolean registered() throws Exception {
        return store.get(FleetIndex.AGENTS, ID).get(5, TimeUnit.SECONDS).isPresent();
    }

    @Test
    void withoutAConfiguredPolicyOrADefaultFleetServerPolicyTheServerDoesNotRegister() throws Exception {
        policy("default", 1, false, null);
        SelfMonitor self = monitor(null);
        self.beat().get(5, TimeUnit.SECONDS);
        assertThat(registered()).isFalse();
        assertThat(self.last().state()).isEqualTo(SelfMonitor.State.STARTING);
    }

    @Test
    void theServerRegistersOnTheDefaultFleetServerPolicyAsElasticAgentReportsARunningFleetServer() throws Exception {
        policy("fleet-server-policy", 3, true, "fleet-server-fleet_server-pp1");
        monitor(null).beat().get(5, TimeUnit.SECONDS);

        JsonNode doc = self();
        assertThat(doc.get("active").asBoolean()).isTrue();
        assertThat(doc.get("type").asText()).isEqualTo("PERMANENT");
        assertThat(doc.get("policy_id").asText()).isEqualTo("fleet-server-policy");
        assertThat(doc.get("agent_policy_id").asText()).isEqualTo("fleet-server-policy");
        assertThat(doc.get("policy_revision_idx").asLong()).isEqualTo(3);
        assertThat(doc.get("enrolled_at").asText()).isEqualTo("2026-12-02T10:00:00Z");
        assertThat(doc.get("last_checkin").asText()).isEqualTo("2026-12-02T10:00:00Z");
        assertThat(doc.get("last_checkin_status").asText()).isEqualTo("online");
        assertThat(doc.get("last_checkin_message").asText())
                .isEqualTo("Running on policy with Fleet Server integration: fleet-server-policy");
        assertThat(doc.get("unhealthy_reason").isNull()).isTrue();
        assertThat(doc.at("/agent/id").asText()).isEqualTo(ID);
        assertThat(doc.at("/agent/version").asText()).isEqualTo("8.19.0");
        assertThat(doc.at("/local_metadata/elastic/agent/id").asText()).isEqualTo(ID);
        assertThat(doc.at("/local_metadata/elastic/agent/upgradeable").asBoolean(true)).isFalse();
        assertThat(doc.at("/local_metadata/elastic/agent/unprivileged").isBoolean()).isTrue();
        assertThat(doc.at("/local_metadata/host/hostname").asText()).isEqualTo("fs-01");
        assertThat(doc.at("/local_metadata/host/id").asText()).isEqualTo("machine-1");
        assertThat(doc.at("/local_metadata/host/ip/0").asText()).isEqualTo("10.0.0.5/24");
        assertThat(doc.at("/local_metadata/os/platform").asText()).isEqualTo("ubuntu");

        JsonNode component = doc.at("/components/0");
        assertThat(component.get("id").asText()).isEqualTo("fleet-server-default");
        assertThat(component.get("type").asText()).isEqualTo("fleet-server");
        assertThat(component.get("status").asText()).isEqualTo("HEALTHY");
        assertThat(component.get("message").asText()).isEqualTo("Healthy: communicating with pid '4242'");
        assertThat(component.at("/units/0/id").asText()).isEqualTo("fleet-server-default-fleet-server-fleet_server-pp1");
        assertThat(component.at("/units/0/type").asText()).isEqualTo("input");
        assertThat(component.at("/units/0/status").asText()).isEqualTo("HEALTHY");
        assertThat(component.at("/units/1/id").asText()).isEqualTo("fleet-server-default");
        assertThat(component.at("/units/1/type").asText()).isEqualTo("output");
    }

    @Test
    void heartbeatsRefreshTheCheckinByPartialUpdatesAndLeaveWhatKibanaWroteAlone() throws Exception {
        policy("fleet-server-policy", 1, true, "fs-input");
        SelfMonitor self = monitor(null);
        self.start();
        // Each heartbeat schedules the next once it has written.
        assertThat(scheduler.awaitScheduledCount(1, Duration.ofSeconds(5))).isTrue();
        assertThat(registered()).isTrue();
        ObjectNode kibana = Json.object();
        kibana.putArray("tags").add("edge");
        kibana.put("upgrade_status", "x");
        repo.updateAgent(ID, kibana).get(5, TimeUnit.SECONDS);

        clock.advance(Duration.ofSeconds(30));
        scheduler.advance(Duration.ofSeconds(30));
        assertThat(scheduler.awaitScheduledCount(2, Duration.ofSeconds(5))).isTrue();
        JsonNode doc = self();
        assertThat(doc.get("last_checkin").asText()).isEqualTo("2026-12-02T10:00:30Z");
        assertThat(doc.get("enrolled_at").asText()).isEqualTo("2026-12-02T10:00:00Z");
        assertThat(doc.get("tags").get(0).asText()).isEqualTo("edge");
        assertThat(doc.get("upgrade_status").asText()).isEqualTo("x");

        self.stop();
        clock.advance(Duration.ofSeconds(30));
        scheduler.advance(Duration.ofMinutes(10));
        assertThat(self().get("last_checkin").asText()).isEqualTo("2026-12-02T10:00:30Z");
    }

    @Test
    void aConfiguredPolicyIsStartingUntilItAndItsFleetServerInputExistAndItsRevisionIsFollowed() throws Exception {
        SelfMonitor self = monitor("fs-policy");
        self.beat().get(5, TimeUnit.SECONDS);
        JsonNode doc = self();
        assertThat(doc.get("policy_id").asText()).isEqualTo("fs-policy");
        assertThat(doc.has("policy_revision_idx")).isFalse();
        assertThat(doc.get("last_checkin_status").asText()).isEqualTo("starting");
        assertThat(doc.get("last_checkin_message").asText()).isEqualTo("Waiting on policy with Fleet Server integration: fs-policy");
        assertThat(doc.at("/components/0/status").asText()).isEqualTo("STARTING");

        policy("fs-policy", 1, false, null);
        self.beat().get(5, TimeUnit.SECONDS);
        assertThat(self().get("last_checkin_message").asText())
                .isEqualTo("Waiting on fleet-server input to be added to policy: fs-policy");
        assertThat(self().get("policy_revision_idx").asLong()).isEqualTo(1);

        policy("fs-policy", 2, false, "fs-input");
        self.beat().get(5, TimeUnit.SECONDS);
        assertThat(self().get("last_checkin_status").asText()).isEqualTo("online");
        assertThat(self().get("policy_revision_idx").asLong()).isEqualTo(2);
        assertThat(self.last().fleetServer().at("/server/limits/max_connections").asInt()).isEqualTo(100);
    }

    @Test
    void failingStoreCallsMakeTheServerDegradedWithTheReasonForThirtySeconds() throws Exception {
        policy("fleet-server-policy", 1, true, "fs-input");
        SelfMonitor self = monitor(null);
        health.storeCall("bulk", 1_000, true);
        health.storeCall("search", 1_000, true);
        health.storeCall("get", 1_000, false);
        self.beat().get(5, TimeUnit.SECONDS);
        JsonNode doc = self();
        assertThat(doc.get("last_checkin_status").asText()).isEqualTo("DEGRADED");
        assertThat(doc.get("last_checkin_message").asText()).isEqualTo("2 Elasticsearch requests failed in the last 30 s");
        assertThat(doc.at("/components/0/units/0/status").asText()).isEqualTo("DEGRADED");
        assertThat(doc.at("/components/0/units/0/message").asText()).isEqualTo("2 Elasticsearch requests failed in the last 30 s");
        assertThat(doc.get("unhealthy_reason")).hasSize(2);

        clock.advance(Duration.ofSeconds(31));
        self.beat().get(5, TimeUnit.SECONDS);
        assertThat(self().get("last_checkin_status").asText()).isEqualTo("online");
        assertThat(self().get("unhealthy_reason").isNull()).isTrue();
    }

    @Test
    void requestsRefusedToShedLoadMakeTheServerDegraded() throws Exception {
        policy("fleet-server-policy", 1, true, "fs-input");
        long[] refused = {0};
        health.shedCount(() -> refused[0]);
        SelfMonitor self = monitor(null);
        self.beat().get(5, TimeUnit.SECONDS);
        assertThat(self().get("last_checkin_status").asText()).isEqualTo("online");
        refused[0] = 12;
        self.beat().get(5, TimeUnit.SECONDS);
        assertThat(self().get("last_checkin_message").asText()).startsWith("shedding load: 12 requests refused");
    }

    @Test
    void anUnenrolledServerRegistersAgainKeepingItsTagsAndDroppingTheUnenrollment() throws Exception {
        policy("fleet-server-policy", 1, true, "fs-input");
        SelfMonitor self = monitor(null);
        self.beat().get(5, TimeUnit.SECONDS);
        ObjectNode unenrolled = Json.object();
        unenrolled.put("active", false);
        unenrolled.put("unenrolled_at", "2026-12-02T10:00:10Z");
        unenrolled.put("unenrollment_started_at", "2026-12-02T10:00:05Z");
        unenrolled.putArray("tags").add("kept");
        repo.updateAgent(ID, unenrolled).get(5, TimeUnit.SECONDS);

        clock.advance(Duration.ofSeconds(30));
        self.beat().get(5, TimeUnit.SECONDS);
        JsonNode doc = self();
        assertThat(doc.get("active").asBoolean()).isTrue();
        assertThat(doc.has("unenrolled_at")).isFalse();
        assertThat(doc.has("unenrollment_started_at")).isFalse();
        assertThat(doc.get("tags").get(0).asText()).isEqualTo("kept");
        assertThat(doc.get("last_checkin").asText()).isEqualTo("2026-12-02T10:00:30Z");
    }

    @Test
    void aReassignmentWrittenByKibanaIsFollowedAndAConfiguredPolicyIsWrittenBackAtStart() throws Exception {
        policy("fleet-server-policy", 1, true, "fs-input");
        policy("other-fs", 4, false, "other-input");
        monitor(null).beat().get(5, TimeUnit.SECONDS);
        ObjectNode reassign = Json.object();
        reassign.put("policy_id", "other-fs");
        repo.updateAgent(ID, reassign).get(5, TimeUnit.SECONDS);

        SelfMonitor running = monitor(null);
        running.beat().get(5, TimeUnit.SECONDS);
        assertThat(self().get("agent_policy_id").asText()).isEqualTo("other-fs");
        assertThat(self().get("policy_revision_idx").asLong()).isEqualTo(4);
        assertThat(self().at("/components/0/units/0/id").asText()).isEqualTo("fleet-server-default-other-input");

        // A restart with inputs[0].policy.id set moves it back to that policy.
        monitor("fleet-server-policy").beat().get(5, TimeUnit.SECONDS);
        assertThat(self().get("policy_id").asText()).isEqualTo("fleet-server-policy");
        assertThat(self().get("policy_revision_idx").asLong()).isEqualTo(1);
    }
}
