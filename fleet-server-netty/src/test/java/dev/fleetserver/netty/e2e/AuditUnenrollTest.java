package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.agentDoc;
import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static dev.fleetserver.netty.e2e.E2eSupport.assertErrorKind;
import static dev.fleetserver.netty.e2e.E2eSupport.managementOk;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.Enrolled;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code POST /api/fleet/agents/{id}/audit/unenroll} through the agent's client: the reason lands on the agent
 * document, the management API shows it as Kibana does ({@code uninstalled}, {@code orphaned}), and the agent's next
 * checkin removes it again. Each test enrolls into a policy of its own, so the counts are its agents' alone.
 */
class AuditUnenrollTest {
    static final String TIMESTAMP = "2024-01-01T12:00:00.000Z";

    // Not final: the Elasticsearch subclass runs the same tests on that back end.
    @RegisterExtension
    final TestFleetExtension fleet = newFleet();
    String policyId;
    String token;

    @BeforeEach
    void policyAndToken() {
        policyId = "audit-" + UUID.randomUUID();
        managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies",
                "{\"id\":\"" + policyId + "\",\"name\":\"" + policyId + "\"}");
        token = managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys", "{\"policy_id\":\"" + policyId + "\"}")
                .at("/item/api_key").asText();
    }

    /**
     * The server under test, before its settings: on the embedded store here, on Elasticsearch in a subclass. Called
     * while the test instance is made, before a subclass's own fields are set.
     */
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.embedded();
    }

    /** Enrolls into this test's policy and checks in once, so the agent shows online. */
    Enrolled enrolledAndOnline() {
        JsonNode item = fleet.agent().enroll(token);
        Enrolled a = new Enrolled(item.get("id").asText(), item.get("access_api_key").asText());
        AgentClient.Reply first = fleet.agent().checkin(a.id(), a.key(), AgentClient.checkinBody("online"));
        assertThat(first.status()).isEqualTo(200);
        assertThat(status(a)).isEqualTo("online");
        return a;
    }

    String status(Enrolled a) {
        return managementOk(fleet.daemon(), "GET", "/api/fleet/agents/" + a.id(), null).at("/item/status").asText();
    }

    JsonNode statusCounts() {
        return managementOk(fleet.daemon(), "GET", "/api/fleet/agent_status?policyId=" + policyId, null).get("results");
    }

    /** The agent's next checkin, its status written (the bulker's flush) before the test looks. */
    void checkInAgain(Enrolled a) throws Exception {
        assertThat(fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy(policyId, 1)).status()).isEqualTo(200);
        fleet.daemon().core().checkin().flushPending().get(10, TimeUnit.SECONDS);
    }

    @Test
    void anUninstallShowsTheAgentUninstalledInTheListAndTheCountsUntilItsNextCheckin() throws Exception {
        Enrolled a = enrolledAndOnline();

        AgentClient.Reply r = fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", TIMESTAMP);

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.raw()).isEmpty();
        JsonNode doc = agentDoc(fleet.daemon(), a.id());
        assertThat(doc.get("audit_unenrolled_reason").asText()).isEqualTo("uninstall");
        assertThat(doc.get("audit_unenrolled_time").asText()).isEqualTo("2024-01-01T12:00:00Z");
        assertThat(status(a)).isEqualTo("uninstalled");
        JsonNode listed = managementOk(fleet.daemon(), "GET", "/api/fleet/agents?kuery=policy_id:" + policyId, null);
        assertThat(listed.at("/items/0/id").asText()).isEqualTo(a.id());
        assertThat(listed.at("/items/0/status").asText()).isEqualTo("uninstalled");
        JsonNode byStatus = managementOk(fleet.daemon(), "GET",
                "/api/fleet/agents?kuery=status:uninstalled%20and%20policy_id:" + policyId, null);
        assertThat(byStatus.get("total").asInt()).isEqualTo(1);
        JsonNode counts = statusCounts();
        assertThat(counts.get("uninstalled").asInt()).isEqualTo(1);
        assertThat(counts.get("orphaned").asInt()).isZero();
        assertThat(counts.get("online").asInt()).isZero();
        assertThat(counts.get("total").asInt()).isEqualTo(1);

        checkInAgain(a);

        JsonNode after = agentDoc(fleet.daemon(), a.id());
        assertThat(after.has("audit_unenrolled_reason")).as(after.toString()).isFalse();
        assertThat(after.has("audit_unenrolled_time")).isFalse();
        assertThat(after.has("unenrolled_at")).isFalse();
        assertThat(after.get("active").asBoolean()).isTrue();
        assertThat(status(a)).isEqualTo("online");
        assertThat(statusCounts().get("uninstalled").asInt()).isZero();
        assertThat(statusCounts().get("online").asInt()).isEqualTo(1);
    }

    @Test
    void anOrphanedAgentIsCountedAsSuchAndASecondAuditIsAConflictEvenBeforeItsBodyIsRead() throws Exception {
        Enrolled a = enrolledAndOnline();

        assertThat(fleet.agent().auditUnenroll(a.id(), a.key(), "orphaned", TIMESTAMP).status()).isEqualTo(200);
        assertThat(status(a)).isEqualTo("orphaned");
        assertThat(statusCounts().get("orphaned").asInt()).isEqualTo(1);

        AgentClient.Reply again = fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", "2024-01-02T00:00:00Z");
        assertError(again, 409, "ErrAuditReasonConflict", "agent document contains audit_unenroll_reason");
        E2eSupport.assertErrorHeaders(again);
        assertError(fleet.agent().auditUnenroll(a.id(), a.key(), "not even JSON"), 409, "ErrAuditReasonConflict",
                "agent document contains audit_unenroll_reason");
        assertThat(agentDoc(fleet.daemon(), a.id()).get("audit_unenrolled_time").asText()).isEqualTo("2024-01-01T12:00:00Z");

        // Its next checkin clears the mark, and it may report again.
        checkInAgain(a);
        assertThat(agentDoc(fleet.daemon(), a.id()).has("audit_unenrolled_reason")).isFalse();
        assertThat(fleet.agent().auditUnenroll(a.id(), a.key(), "migrated", "2024-01-03T00:00:00+01:00").status()).isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), a.id()).get("audit_unenrolled_time").asText()).isEqualTo("2024-01-03T00:00:00+01:00");
        // Migrated is no status of its own.
        assertThat(status(a)).isEqualTo("online");
    }

    @Test
    void aReasonTheOriginalDoesNotKnowIsABadRequestAndChangesNothing() {
        Enrolled a = enrolledAndOnline();
        long seq = seqNo(a);

        assertError(fleet.agent().auditUnenroll(a.id(), a.key(), "bogus", TIMESTAMP), 400, "BadRequest",
                "Bad request: audit/unenroll request invalid reason");
        assertThat(assertErrorKind(fleet.agent().auditUnenroll(a.id(), a.key(),
                "{\"reason\":\"uninstall\",\"timestamp\":\"yesterday\"}"), 400, "BadRequest"))
                .startsWith("Bad request: unable to decode audit/unenroll request: parsing time \"yesterday\"");
        assertThat(assertErrorKind(fleet.agent().auditUnenroll(a.id(), a.key(), "{\"reason\":"), 400, "BadRequest"))
                .startsWith("Bad request: unable to decode audit/unenroll request: ");
        ObjectNode big = Json.object().put("reason", "uninstall").put("timestamp", TIMESTAMP).put("padding", "x".repeat(1100));
        assertError(fleet.agent().auditUnenroll(a.id(), a.key(), Json.string(big)), 400, "BadRequest",
                "Bad request: http: request body too large");

        assertThat(seqNo(a)).as("nothing written").isEqualTo(seq);
        assertThat(agentDoc(fleet.daemon(), a.id()).has("audit_unenrolled_reason")).isFalse();
        assertThat(status(a)).isEqualTo("online");
    }

    @Test
    void onlyTheAgentItselfMayReportAndNotOnceUnenrolled() {
        Enrolled a = enrolledAndOnline();
        Enrolled other = enrolledAndOnline();

        assertThat(fleet.agent().auditUnenroll(a.id(), other.key(), "uninstall", TIMESTAMP).status()).isEqualTo(403);
        AgentClient.Reply noKey = fleet.agent().send(fleet.agent().request("/api/fleet/agents/" + a.id() + "/audit/unenroll")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build());
        assertError(noKey, 401, "ErrNoAuthHeader", "no authorization header");
        assertThat(agentDoc(fleet.daemon(), a.id()).has("audit_unenrolled_reason")).isFalse();

        managementOk(fleet.daemon(), "POST", "/api/fleet/agents/" + a.id() + "/unenroll", "{\"revoke\":true}");
        assertThat(fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", TIMESTAMP).status()).isEqualTo(401);
    }

    @Test
    void reEnrollingTheSameAgentClearsItsAuditMarks() {
        ObjectNode body = AgentClient.enrollBody().put("replace_token", "replace-me");
        JsonNode item = fleet.agent().enroll(token, body).json().get("item");
        Enrolled a = new Enrolled(item.get("id").asText(), item.get("access_api_key").asText());
        assertThat(fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", TIMESTAMP).status()).isEqualTo(200);

        AgentClient.Reply again = fleet.agent().enroll(token, body.put("id", a.id()));

        assertThat(again.status()).as(again.body()).isEqualTo(200);
        JsonNode doc = agentDoc(fleet.daemon(), a.id());
        assertThat(doc.path("audit_unenrolled_reason").isNull()).as(doc.toString()).isTrue();
        assertThat(doc.path("audit_unenrolled_time").isNull()).isTrue();
        assertThat(status(a)).isNotEqualTo("uninstalled");
    }

    @Test
    void auditsBeyondTheConfiguredRateAre429RateLimit() throws Exception {
        fleet.restart(server -> server.with("limits").putObject("audit_unenroll_limit").put("interval", "1m").put("burst", 1));
        Enrolled a = fleet.enroll();

        assertThat(fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", "2024-01-01T12:00:00Z").status()).isEqualTo(200);
        AgentClient.Reply limited = fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", "2024-01-01T12:00:00Z");
        assertThat(limited.status()).isEqualTo(429);
        assertThat(limited.json()).isEqualTo(Json.object().put("statusCode", 429).put("error", "RateLimit")
                .put("message", "exceeded the rate limit"));
        assertThat(limited.header("Retry-After")).isNotNull();
    }

    @Test
    void theConfiguredBodyCapOfTheRouteApplies() throws Exception {
        fleet.restart(server -> server.with("limits").putObject("audit_unenroll_limit").put("max_body_byte_size", 32));
        Enrolled a = fleet.enroll();

        assertError(fleet.agent().auditUnenroll(a.id(), a.key(), "uninstall", TIMESTAMP), 400, "BadRequest",
                "Bad request: http: request body too large");
    }

    private long seqNo(Enrolled a) {
        try {
            return fleet.daemon().store().get(dev.fleetserver.core.store.FleetIndex.AGENTS, a.id()).get(5, TimeUnit.SECONDS)
                    .orElseThrow().seqNo();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
