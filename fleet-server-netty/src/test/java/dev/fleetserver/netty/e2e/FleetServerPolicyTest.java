package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.management;
import static dev.fleetserver.netty.e2e.E2eSupport.managementOk;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.netty.FleetDaemon;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The README's Fleet Server set-up on the embedded store, call by call: a Fleet Server policy made with the management
 * API ({@code has_fleet_server}, {@code is_default_fleet_server}, {@code is_managed}) makes the server register as its
 * agent, listed online like any agent; that agent cannot be unenrolled or reassigned by mistake; its id survives a
 * restart; agents enrolled through the server are unaffected.
 */
class FleetServerPolicyTest {
    private static final String FLEET_SERVER_POLICY = "{\"id\":\"fleet-server-policy\",\"name\":\"Fleet Server policy\","
            + "\"has_fleet_server\":true,\"is_default_fleet_server\":true}";

    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    private JsonNode fleetServerAgents() {
        return managementOk(fleet.daemon(), "GET", "/api/fleet/agents?kuery=policy_id:fleet-server-policy", null).get("items");
    }

    @Test
    void withoutAFleetServerPolicyTheServerIsNotAnAgent() {
        E2eSupport.await(Duration.ofSeconds(10), "the first heartbeat", () -> fleet.daemon().core().self().last() != null);
        assertThat(fleet.daemon().core().self().last().policyId()).isNull();
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agents", null).get("total").asInt()).isZero();
    }

    @Test
    void aFleetServerPolicyMadeWithTheManagementApiMakesTheServerItsAgentOnlineAtOnce() throws Exception {
        JsonNode item = managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", FLEET_SERVER_POLICY).get("item");
        assertThat(item.get("has_fleet_server").asBoolean()).isTrue();
        assertThat(item.get("is_default_fleet_server").asBoolean()).isTrue();
        assertThat(item.get("is_managed").asBoolean()).isTrue();
        JsonNode input = item.at("/inputs/0");
        assertThat(input.get("type").asText()).isEqualTo("fleet-server");
        assertThat(input.get("id").asText()).startsWith("fleet-server-fleet_server-");

        // The policy's revision wakes the server's heartbeat: no 30 s wait.
        E2eSupport.await(Duration.ofSeconds(10), "the server listed as the policy's agent",
                () -> fleetServerAgents().size() == 1);
        JsonNode agent = fleetServerAgents().get(0);
        String id = Files.readString(fleet.dataDir().resolve(FleetDaemon.AGENT_ID_FILE)).trim();
        assertThat(agent.get("id").asText()).isEqualTo(id);
        assertThat(agent.get("status").asText()).isEqualTo("online");
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agent_status?policyId=fleet-server-policy", null)
                .at("/results/online").asInt()).isEqualTo(1);
        assertThat(E2eSupport.agentDoc(fleet.daemon(), id).at("/components/0/units/0/id").asText())
                .isEqualTo("fleet-server-default-" + input.get("id").asText());

        // Managed: the server's own agent is not unenrolled, upgraded or moved by mistake.
        AgentClient.Reply unenroll = management(fleet.daemon(), "POST", "/api/fleet/agents/" + id + "/unenroll", "{}");
        assertThat(unenroll.status()).isEqualTo(400);
        assertThat(unenroll.body()).contains("Cannot unenroll " + id + " from a managed agent policy fleet-server-policy");
        assertThat(management(fleet.daemon(), "POST", "/api/fleet/agents/" + id + "/reassign", "{\"policy_id\":\"default\"}")
                .status()).isEqualTo(400);
        assertThat(management(fleet.daemon(), "POST", "/api/fleet/agents/" + id + "/upgrade", "{\"version\":\"9.9.9\"}").status())
                .isEqualTo(400);
        // Bulk actions skip it, as Kibana's skip hosted agents: here it is the only one selected.
        assertThat(management(fleet.daemon(), "POST", "/api/fleet/agents/bulk_unenroll",
                "{\"agents\":\"policy_id:fleet-server-policy\"}").status()).isEqualTo(400);
        assertThat(E2eSupport.agentDoc(fleet.daemon(), id).has("unenrollment_started_at")).isFalse();

        // Agents enroll on their own policy as before, and are listed beside the server.
        E2eSupport.Enrolled enrolled = fleet.enrollUpToDate();
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + enrolled.id(), null).at("/item/policy_id").asText())
                .isEqualTo("default");
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agents", null).get("total").asInt()).isEqualTo(2);
    }

    @Test
    void theServersAgentIdIsKeptInTheDataDirectoryAcrossRestarts() throws Exception {
        managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", FLEET_SERVER_POLICY);
        E2eSupport.await(Duration.ofSeconds(10), "registered", () -> fleetServerAgents().size() == 1);
        String id = fleet.daemon().core().self().agentId();
        fleet.restart();
        assertThat(fleet.daemon().core().self().agentId()).isEqualTo(id);
        E2eSupport.await(Duration.ofSeconds(10), "heartbeat after the restart",
                () -> fleet.daemon().core().self().last() != null && fleet.daemon().core().self().last().policyId() != null);
        assertThat(fleetServerAgents()).hasSize(1);
    }
}
