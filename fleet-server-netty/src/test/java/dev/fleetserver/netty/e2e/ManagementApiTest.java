package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.management;
import static dev.fleetserver.netty.e2e.E2eSupport.managementAs;
import static dev.fleetserver.netty.e2e.E2eSupport.managementOk;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The Kibana-shaped management API on its own listener: policies, enrollment keys, agents, and its token. */
class ManagementApiTest {
    private static final String POLICY = "{\"id\":\"p1\",\"name\":\"Policy one\",\"namespace\":\"default\","
            + "\"outputs\":{\"default\":{\"type\":\"elasticsearch\",\"hosts\":[\"http://127.0.0.1:9200\"]}},"
            + "\"inputs\":[{\"id\":\"logs-1\",\"type\":\"logfile\",\"streams\":[]}]}";

    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    /** A Kibana-style error: status, and a body with {@code statusCode}, {@code error} and a message. */
    private static void assertManagementError(AgentClient.Reply r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        JsonNode body = r.json();
        assertThat(body.get("statusCode").asInt()).isEqualTo(status);
        assertThat(body.get("error").asText()).isNotBlank();
        assertThat(body.get("message").asText()).isNotBlank();
    }

    @Test
    void everyCallNeedsTheBearerToken() {
        assertManagementError(managementAs(fleet.daemon(), null, "GET", "/api/fleet/agents", null), 401);
        assertManagementError(managementAs(fleet.daemon(), "Bearer wrong", "GET", "/api/fleet/agents", null), 401);
        assertManagementError(managementAs(fleet.daemon(), "ApiKey " + fleet.daemon().enrollmentToken(), "GET",
                "/api/fleet/agents", null), 401);
        assertManagementError(managementAs(fleet.daemon(), "Bearer wrong", "POST", "/api/fleet/agent_policies", POLICY), 401);
        assertThat(management(fleet.daemon(), "GET", "/api/fleet/agent_policies/p1", null).status()).isEqualTo(404);
    }

    @Test
    void aPolicyIsCreatedReadAndUpdatedToANewRevision() {
        JsonNode created = managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", POLICY).get("item");
        assertThat(created.get("id").asText()).isEqualTo("p1");
        assertThat(created.get("name").asText()).isEqualTo("Policy one");
        assertThat(created.get("revision").asLong()).isEqualTo(1);

        JsonNode read = managementOk(fleet.daemon(), "GET", "/api/fleet/agent_policies/p1", null).get("item");
        assertThat(read.get("revision").asLong()).isEqualTo(1);
        assertThat(read.at("/outputs/default/type").asText()).isEqualTo("elasticsearch");
        assertThat(read.at("/inputs/0/id").asText()).isEqualTo("logs-1");

        JsonNode updated = managementOk(fleet.daemon(), "PUT", "/api/fleet/agent_policies/p1",
                "{\"agent\":{\"logging\":{\"level\":\"debug\"}}}").get("item");
        assertThat(updated.get("revision").asLong()).isEqualTo(2);
        assertThat(updated.at("/agent/logging/level").asText()).isEqualTo("debug");
        assertThat(updated.at("/inputs/0/id").asText()).isEqualTo("logs-1");
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agent_policies/p1", null).at("/item/revision").asLong())
                .isEqualTo(2);
    }

    @Test
    void thePolicyListCarriesEachPolicysContentUnlessAskedWithFullFalse() {
        managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", POLICY);

        JsonNode full = managementOk(fleet.daemon(), "GET", "/api/fleet/agent_policies", null);
        assertThat(full.get("items")).extracting(i -> i.get("id").asText()).containsExactly("default", "p1");
        assertThat(full.at("/items/1/inputs/0/id").asText()).isEqualTo("logs-1");

        JsonNode light = managementOk(fleet.daemon(), "GET", "/api/fleet/agent_policies?full=false", null);
        assertThat(light.at("/items/1/name").asText()).isEqualTo("Policy one");
        assertThat(light.at("/items/1/revision").asLong()).isEqualTo(1);
        assertThat(light.get("items")).allSatisfy(i -> assertThat(i.has("inputs") || i.has("outputs")).isFalse());
        assertManagementError(management(fleet.daemon(), "GET", "/api/fleet/agent_policies?full=yes", null), 400);
    }

    @Test
    void policiesTravelAsYamlBothWaysAndAYamlErrorSaysItsLine() {
        AgentClient.Reply created = E2eSupport.managementWith(fleet.daemon(), "POST", "/api/fleet/agent_policies",
                "id: py\nname: From YAML\nagent:\n  logging:\n    level: debug\n", "Content-Type", "application/yaml");
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        assertThat(created.json().at("/item/agent/logging/level").asText()).isEqualTo("debug");

        AgentClient.Reply yaml = E2eSupport.managementWith(fleet.daemon(), "GET", "/api/fleet/agent_policies/py", null,
                "Accept", "application/yaml");
        assertThat(yaml.status()).isEqualTo(200);
        assertThat(yaml.header("content-type")).startsWith("application/yaml");
        assertThat(yaml.body()).contains("name: \"From YAML\"").contains("level: \"debug\"");

        assertThat(refused("name: ok\nagent: [unclosed\n", "application/yaml; charset=utf-8"))
                .startsWith("invalid YAML at line 2");
        assertThat(refused("name: a\nname: b\n", "application/yaml")).contains("Duplicate field 'name'");
        assertThat(refused("agent: &a {logging: {level: info}}\nfleet: *a\n", "application/yaml"))
                .contains("aliases (*a) are not accepted");
        refused("name: one\n---\nname: two\n", "application/yaml");
        AgentClient.Reply badJson = E2eSupport.managementWith(fleet.daemon(), "PUT", "/api/fleet/agent_policies/py",
                "{\n  \"name\": }", "Content-Type", "application/json");
        assertThat(badJson.json().get("message").asText()).startsWith("invalid JSON at line 2");
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agent_policies/py", null).at("/item/revision").asInt())
                .as("nothing written by a refused body").isEqualTo(1);
    }

    /** The message of the 400 a policy update sent as {@code body} gets. */
    private String refused(String body, String contentType) {
        AgentClient.Reply r = E2eSupport.managementWith(fleet.daemon(), "PUT", "/api/fleet/agent_policies/py", body,
                "Content-Type", contentType);
        assertManagementError(r, 400);
        return r.json().get("message").asText();
    }

    @Test
    void updatingAnUnknownPolicyIs404AndCreatingAnExistingOneIs409() {
        assertManagementError(management(fleet.daemon(), "PUT", "/api/fleet/agent_policies/nope", "{\"agent\":{}}"), 404);
        managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", POLICY);
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/agent_policies", POLICY), 409);
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/agent_policies",
                "{\"id\":\"default\",\"name\":\"again\"}"), 409);
    }

    @Test
    void malformedPolicyBodiesAreBadRequests() {
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/agent_policies", "{\"name\":\"x\",\"bogus_key\":1}"),
                400);
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/agent_policies",
                "{\"name\":\"x\",\"outputs\":[1,2]}"), 400);
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/agent_policies", "{\"name\":"), 400);
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/agent_policies", "[]"), 400);
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/agent_policies", "{\"outputs\":{}}"), 400);
        assertManagementError(management(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default", "{\"inputs\":{}}"), 400);
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agent_policies/default", null).at("/item/revision").asLong())
                .isEqualTo(1);
    }

    @Test
    void anEnrollmentKeyEnrollsAgentsIntoItsPolicy() {
        managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", POLICY);
        JsonNode key = managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"p1\"}").get("item");
        assertThat(key.get("policy_id").asText()).isEqualTo("p1");
        assertThat(key.get("active").asBoolean()).isTrue();

        JsonNode item = fleet.agent().enroll(key.get("api_key").asText());
        assertThat(item.get("policy_id").asText()).isEqualTo("p1");
        AgentClient.Reply r = fleet.agent().checkin(item.get("id").asText(), item.get("access_api_key").asText(),
                AgentClient.checkinBody("starting"));
        JsonNode action = r.json().at("/actions/0");
        assertThat(action.get("type").asText()).isEqualTo("POLICY_CHANGE");
        assertThat(action.get("id").asText()).isEqualTo("policy:p1:1");
        assertThat(action.at("/data/policy/inputs/0/id").asText()).isEqualTo("logs-1");
    }

    @Test
    void anEnrollmentKeyForAnUnknownPolicyIsABadRequest() {
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys", "{\"policy_id\":\"nope\"}"),
                400);
        assertManagementError(management(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys", "{}"), 400);
    }

    @Test
    void agentsAreListedPagedAndReadWithoutSecrets() throws Exception {
        ObjectNode withToken = AgentClient.enrollBody();
        withToken.put("replace_token", "secret-token");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            AgentClient.Reply r = fleet.agent().enroll(fleet.daemon().enrollmentToken(), withToken);
            assertThat(r.status()).isEqualTo(200);
            ids.add(r.json().at("/item/id").asText());
        }
        String firstId = ids.get(0);

        JsonNode all = managementOk(fleet.daemon(), "GET", "/api/fleet/agents", null);
        assertThat(all.get("total").asLong()).isEqualTo(3);
        assertThat(all.get("items")).hasSize(3);
        List<String> listed = new ArrayList<>();
        for (JsonNode item : all.get("items")) {
            listed.add(item.get("id").asText());
            assertThat(item.has("replace_token")).isFalse();
            assertThat(item.get("status").asText()).isEqualTo("enrolling");
            assertThat(item.get("policy_id").asText()).isEqualTo("default");
        }
        assertThat(listed).containsExactlyInAnyOrderElementsOf(ids);

        JsonNode page2 = managementOk(fleet.daemon(), "GET", "/api/fleet/agents?perPage=1&page=2", null);
        assertThat(page2.get("total").asLong()).isEqualTo(3);
        assertThat(page2.get("items")).hasSize(1);
        assertThat(page2.get("page").asInt()).isEqualTo(2);
        assertThat(page2.get("perPage").asInt()).isEqualTo(1);
        assertThat(page2.at("/items/0/id").asText()).isEqualTo(listed.get(1));

        JsonNode one = managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + firstId, null).get("item");
        assertThat(one.get("id").asText()).isEqualTo(firstId);
        assertThat(one.has("replace_token")).isFalse();
        assertThat(Json.string(one)).doesNotContain("secret-token");
        assertManagementError(management(fleet.daemon(), "GET", "/api/fleet/agents/no-such-agent", null), 404);
    }

    @Test
    void anAgentThatCheckedInIsListedOnline() throws Exception {
        E2eSupport.Enrolled a = fleet.enroll();
        fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("online"));
        fleet.daemon().core().checkin().flushPending().get(5, TimeUnit.SECONDS);
        assertThat(managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id(), null).at("/item/status").asText())
                .isEqualTo("online");
    }

    @Test
    void theGeneratedManagementTokenIsStoredReadableOnlyByTheOwner() throws Exception {
        Path file = fleet.dataDir().resolve("management-token");
        assertThat(file).exists();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Files.readString(file, StandardCharsets.UTF_8).trim()).isEqualTo(fleet.daemon().managementToken());
    }
}
