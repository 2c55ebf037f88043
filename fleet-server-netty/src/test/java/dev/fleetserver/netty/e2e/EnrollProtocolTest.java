package dev.fleetserver.netty.e2e;

import static dev.fleetserver.netty.e2e.E2eSupport.agentDoc;
import static dev.fleetserver.netty.e2e.E2eSupport.assertError;
import static dev.fleetserver.netty.e2e.E2eSupport.assertErrorKind;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.e2e.E2eSupport.RawConnection;
import dev.fleetserver.netty.e2e.E2eSupport.RawResponse;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code POST /api/fleet/agents/enroll}: authentication, User-Agent and body rules, the answer and the stored agent. */
class EnrollProtocolTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    private AgentClient.Reply enroll(String authorization, String userAgent, String body) {
        HttpRequest.Builder b = fleet.agent().request("/api/fleet/agents/enroll").POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        b.setHeader("User-Agent", userAgent);
        return fleet.agent().send(b.build());
    }

    private AgentClient.Reply enroll(String authorization, String body) {
        return enroll(authorization, AgentClient.USER_AGENT, body);
    }

    private String token() {
        return "ApiKey " + fleet.daemon().enrollmentToken();
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String body() {
        return Json.string(AgentClient.enrollBody());
    }

    private static String bodyWith(String field, String value) {
        ObjectNode b = AgentClient.enrollBody();
        b.put(field, value);
        return Json.string(b);
    }

    @Test
    void enrollWithoutAuthorizationIsRefusedWithNoAuthHeader() {
        assertError(enroll(null, body()), 401, "ErrNoAuthHeader", "no authorization header");
    }

    @Test
    void aBearerAuthorizationIsAMalformedHeader() {
        assertError(enroll("Bearer x", body()), 400, "ErrMalformedHeader", "malformed authorization header");
    }

    @Test
    void anApiKeyThatIsNotBase64IsAnInvalidToken() {
        assertError(enroll("ApiKey !!!", body()), 401, "ErrInvalidToken", "token not valid utf8");
    }

    @Test
    void anApiKeyWithoutAColonIsAMalformedToken() {
        assertError(enroll("ApiKey " + b64("nocolon"), body()), 400, "ErrMalformedToken", "malformed token");
    }

    @Test
    void anUnknownKeyIdOrAWrongSecretIsUnauthorized() {
        assertError(enroll(E2eSupport.apiKeyHeader("no-such-id", "secret"), body()), 401, "ErrUnauthorized", "unauthorized");
        String tokenId = new String(Base64.getDecoder().decode(fleet.daemon().enrollmentToken()),
                StandardCharsets.UTF_8).split(":")[0];
        assertError(enroll(E2eSupport.apiKeyHeader(tokenId, "wrong-secret"), body()), 401, "ErrUnauthorized", "unauthorized");
    }

    @Test
    void theUserAgentMustNameElasticAgentOfASupportedVersion() {
        assertError(enroll(token(), "elastic-agent 9.6.0", body()), 400, "InvalidUserAgent", "user-agent is invalid");
        assertThat(enroll(token(), "Elastic Agent 9.6.0", body()).status()).isEqualTo(200);
        assertThat(enroll(token(), "eLaStIc aGeNt v9.6.0", body()).status()).isEqualTo(200);
        assertError(enroll(token(), "Elastic Agent v9.7.0", body()), 400, "UnsupportedVersion", "version is not supported");
        assertThat(enroll(token(), "Elastic Agent v9.6.99", body()).status()).isEqualTo(200);
        assertThat(enroll(token(), "Elastic Agent 7.12.0", body()).status()).isEqualTo(400);
    }

    @Test
    void anEmptyBodyIsABadRequestWithTheOriginalsEofMessage() {
        assertError(enroll(token(), ""), 400, "BadRequest", "Bad request: unable to decode enroll request: EOF");
    }

    @Test
    void invalidJsonIsABadRequest() {
        String message = assertErrorKind(enroll(token(), "{\"type\":"), 400, "BadRequest");
        assertThat(message).startsWith("Bad request: unable to decode enroll request: ");
    }

    @Test
    void anUnknownEnrollTypeIsABadRequestNotTheOriginals500() {
        assertError(enroll(token(), bodyWith("type", "FOO")), 400, "BadRequest", "Bad request: unknown enroll request type");
    }

    @Test
    void enrollWithoutTypeIsABadRequest() {
        ObjectNode b = AgentClient.enrollBody();
        b.remove("type");
        assertError(enroll(token(), Json.string(b)), 400, "BadRequest", "Bad request: enroll request type missing");
        b.putNull("type");
        assertError(enroll(token(), Json.string(b)), 400, "BadRequest", "Bad request: enroll request type missing");
        b.put("type", 1);
        assertError(enroll(token(), Json.string(b)), 400, "BadRequest",
                "Bad request: unable to decode enroll request: type must be a string");
    }

    @Test
    void metadataOfTheWrongShapeIsABadRequestNamingTheField() {
        ObjectNode notObject = AgentClient.enrollBody();
        notObject.put("metadata", "host-1");
        assertError(enroll(token(), Json.string(notObject)), 400, "BadRequest",
                "Bad request: unable to decode enroll request: metadata must be an object");
        for (String field : new String[] {"local", "user_provided"}) {
            for (JsonNode wrong : new JsonNode[] {Json.array(), Json.MAPPER.getNodeFactory().textNode("x"),
                    Json.MAPPER.getNodeFactory().numberNode(1)}) {
                ObjectNode b = AgentClient.enrollBody();
                ((ObjectNode) b.get("metadata")).set(field, wrong);
                assertError(enroll(token(), Json.string(b)), 400, "BadRequest",
                        "Bad request: unable to decode enroll request: metadata." + field + " must be an object");
            }
        }
    }

    @Test
    void nullMetadataSectionsAreAccepted() {
        ObjectNode b = AgentClient.enrollBody();
        ((ObjectNode) b.get("metadata")).putNull("local").putNull("user_provided");
        assertThat(enroll(token(), Json.string(b)).status()).isEqualTo(200);
        ObjectNode none = AgentClient.enrollBody();
        none.putNull("metadata");
        assertThat(enroll(token(), Json.string(none)).status()).isEqualTo(200);
    }

    @Test
    void idsThatCannotBeDocumentIdsAreBadRequestsNamingTheField() {
        assertError(enroll(token(), bodyWith("id", "a".repeat(600))), 400, "BadRequest",
                "Bad request: id must be at most 512 bytes");
        assertError(enroll(token(), bodyWith("enrollment_id", "e".repeat(513))), 400, "BadRequest",
                "Bad request: enrollment_id must be at most 512 bytes");
        assertError(enroll(token(), bodyWith("id", "agent\nx")), 400, "BadRequest",
                "Bad request: id must not contain control characters");
        assertThat(enroll(token(), bodyWith("id", "a".repeat(512))).status()).isEqualTo(200);
    }

    @Test
    void anAgentsAccessKeyCannotEnrollAndIsUnauthorizedNotA500() {
        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        assertError(enroll("ApiKey " + item.get("access_api_key").asText(), body()), 401, "ErrUnauthorized",
                "not an active enrollment token");
    }

    @Test
    void aRevokedEnrollmentKeyThatWasUsedBeforeIsUnauthorized() {
        JsonNode key = E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"default\"}").get("item");
        String token = "ApiKey " + key.get("api_key").asText();
        assertThat(enroll(token, body()).status()).isEqualTo(200);

        E2eSupport.managementOk(fleet.daemon(), "DELETE", "/api/fleet/enrollment_api_keys/" + key.get("id").asText(), null);

        assertErrorKind(enroll(token, body()), 401, "ErrUnauthorized");
    }

    @Test
    void tagsAreDeduplicatedAndSortedAndMissingTagsAreAnEmptyList() throws Exception {
        ObjectNode b = AgentClient.enrollBody();
        ((ObjectNode) b.get("metadata")).set("tags", Json.MAPPER.readTree("[\"b\",\"a\",\"b\"]"));
        AgentClient.Reply tagged = enroll(token(), Json.string(b));
        assertThat(tagged.status()).isEqualTo(200);
        JsonNode sorted = Json.MAPPER.readTree("[\"a\",\"b\"]");
        assertThat(tagged.json().at("/item/tags")).isEqualTo(sorted);
        assertThat(agentDoc(fleet.daemon(), tagged.json().at("/item/id").asText()).get("tags")).isEqualTo(sorted);

        AgentClient.Reply untagged = enroll(token(), body());
        assertThat(untagged.json().at("/item/tags")).isEqualTo(Json.array());
        assertThat(agentDoc(fleet.daemon(), untagged.json().at("/item/id").asText()).get("tags")).isEqualTo(Json.array());
    }

    @Test
    void theAnswerHasExactlyTheOriginalsKeys() {
        AgentClient.Reply r = enroll(token(), body());
        assertThat(r.status()).isEqualTo(200);
        JsonNode json = r.json();
        assertThat(fieldNames(json)).containsExactly("action", "item");
        assertThat(json.get("action").asText()).isEqualTo("created");
        JsonNode item = json.get("item");
        assertThat(fieldNames(item)).containsExactlyInAnyOrder("access_api_key", "access_api_key_id", "active", "enrolled_at",
                "id", "local_metadata", "policy_id", "status", "tags", "type", "user_provided_metadata");
        assertThat(item.get("active").asBoolean()).isTrue();
        assertThat(item.get("status").asText()).isEqualTo("online");
        assertThat(item.get("type").asText()).isEqualTo("PERMANENT");
        assertThat(item.get("policy_id").asText()).isEqualTo("default");
        assertThat(item.get("user_provided_metadata").isNull()).isTrue();
        assertThat(OffsetDateTime.parse(item.get("enrolled_at").asText()).getOffset().getTotalSeconds()).isZero();
        String decoded = new String(Base64.getDecoder().decode(item.get("access_api_key").asText()), StandardCharsets.UTF_8);
        assertThat(decoded).startsWith(item.get("access_api_key_id").asText() + ":");
    }

    @Test
    void theStoredAgentHasTheOriginalsFieldsAndNeverThePlainReplaceToken() throws Exception {
        AgentClient.Reply r = enroll(token(), bodyWith("replace_token", "plain-replace-secret"));
        JsonNode item = r.json().get("item");
        String id = item.get("id").asText();
        JsonNode doc = agentDoc(fleet.daemon(), id);
        assertThat(doc.get("active").asBoolean()).isTrue();
        assertThat(doc.get("policy_id").asText()).isEqualTo("default");
        assertThat(doc.get("policy_base_id").asText()).isEqualTo("default");
        assertThat(doc.get("type").asText()).isEqualTo("PERMANENT");
        assertThat(doc.get("access_api_key_id").asText()).isEqualTo(item.get("access_api_key_id").asText());
        assertThat(doc.get("action_seq_no")).isEqualTo(Json.MAPPER.readTree("[-1]"));
        assertThat(doc.at("/agent/id").asText()).isEqualTo(id);
        assertThat(doc.at("/agent/version").asText()).isEqualTo("9.6.0");
        assertThat(doc.get("enrolled_at").asText()).isEqualTo(item.get("enrolled_at").asText());
        assertThat(doc.get("replace_token").asText()).startsWith("$pbkdf2-sha512$");
        assertThat(Json.string(doc)).doesNotContain("plain-replace-secret");
    }

    @Test
    void anActiveAgentIsOnlyReplacedWithItsReplaceToken() {
        ObjectNode first = AgentClient.enrollBody();
        first.put("id", "agent-x");
        first.put("replace_token", "token-t");
        AgentClient.Reply created = enroll(token(), Json.string(first));
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        assertThat(created.json().at("/item/id").asText()).isEqualTo("agent-x");
        String oldKey = created.json().at("/item/access_api_key").asText();

        ObjectNode noToken = AgentClient.enrollBody();
        noToken.put("id", "agent-x");
        assertError(enroll(token(), Json.string(noToken)), 403, "AgentNotReplaceable", "existing agent cannot be replaced");

        ObjectNode wrongToken = AgentClient.enrollBody();
        wrongToken.put("id", "agent-x");
        wrongToken.put("replace_token", "not-t");
        assertError(enroll(token(), Json.string(wrongToken)), 403, "AgentNotReplaceable", "existing agent cannot be replaced");

        AgentClient.Reply replaced = enroll(token(), Json.string(first));
        assertThat(replaced.status()).as(replaced.body()).isEqualTo(200);
        assertThat(replaced.json().at("/item/id").asText()).isEqualTo("agent-x");
        String newKey = replaced.json().at("/item/access_api_key").asText();
        assertThat(newKey).isNotEqualTo(oldKey);
        assertThat(agentDoc(fleet.daemon(), "agent-x").get("policy_revision_idx").asLong()).isZero();

        assertThat(fleet.agent().checkin("agent-x", oldKey, AgentClient.checkinBody("online")).status()).isEqualTo(401);
        assertThat(fleet.agent().checkin("agent-x", newKey, AgentClient.checkinBody("online")).status()).isEqualTo(200);
    }

    @Test
    void enrollingWithTheIdOfAnInactiveAgentCreatesItAfresh() {
        ObjectNode body = AgentClient.enrollBody();
        body.put("id", "agent-y");
        AgentClient.Reply first = enroll(token(), Json.string(body));
        assertThat(first.status()).isEqualTo(200);
        E2eSupport.updateAgent(fleet.daemon(), "agent-y",
                Json.object().put("active", false).put("last_checkin_status", "online"));

        AgentClient.Reply again = enroll(token(), Json.string(body));
        assertThat(again.status()).as(again.body()).isEqualTo(200);
        assertThat(again.json().at("/item/id").asText()).isEqualTo("agent-y");
        JsonNode doc = agentDoc(fleet.daemon(), "agent-y");
        assertThat(doc.get("active").asBoolean()).isTrue();
        assertThat(doc.get("access_api_key_id").asText()).isEqualTo(again.json().at("/item/access_api_key_id").asText());
        assertThat(doc.has("last_checkin_status")).as("a fresh document, not the old one").isFalse();
    }

    @Test
    void aReplaceTokenDoesNotMoveAnAgentToAnotherPolicy() {
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", "{\"id\":\"p2\",\"name\":\"p2\"}");
        String p2Token = E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"p2\"}").at("/item/api_key").asText();
        ObjectNode body = AgentClient.enrollBody();
        body.put("id", "agent-z");
        body.put("replace_token", "token-z");
        assertThat(enroll(token(), Json.string(body)).status()).isEqualTo(200);
        assertError(enroll("ApiKey " + p2Token, Json.string(body)), 403, "AgentNotReplaceable", "existing agent cannot be replaced");
        assertThat(agentDoc(fleet.daemon(), "agent-z").get("policy_id").asText()).isEqualTo("default");
    }

    @Test
    void reEnrollingWithTheEnrollmentIdOfANeverCheckedInAgentReplacesIt() {
        ObjectNode body = AgentClient.enrollBody();
        body.put("enrollment_id", "host-42");
        AgentClient.Reply first = enroll(token(), Json.string(body));
        assertThat(first.status()).isEqualTo(200);
        String ghost = first.json().at("/item/id").asText();
        String ghostKey = first.json().at("/item/access_api_key").asText();
        assertThat(agentDoc(fleet.daemon(), ghost).get("enrollment_id").asText()).isEqualTo("host-42");

        AgentClient.Reply second = enroll(token(), Json.string(body));
        assertThat(second.status()).as(second.body()).isEqualTo(200);
        String fresh = second.json().at("/item/id").asText();
        assertThat(fresh).isNotEqualTo(ghost);
        assertThat(E2eSupport.doc(fleet.daemon(), FleetIndex.AGENTS, ghost)).isEmpty();
        assertThat(fleet.agent().checkin(ghost, ghostKey, AgentClient.checkinBody("online")).status()).isIn(401, 403);
        assertThat(agentDoc(fleet.daemon(), fresh).get("enrollment_id").asText()).isEqualTo("host-42");
    }

    @Test
    void theLocalAgentIdIsOverwrittenOnlyWhenTheKeyExists() throws Exception {
        AgentClient.Reply with = enroll(token(), body());
        String id = with.json().at("/item/id").asText();
        assertThat(with.json().at("/item/local_metadata/elastic/agent/id").asText()).isEqualTo(id);
        assertThat(agentDoc(fleet.daemon(), id).at("/local_metadata/elastic/agent/id").asText()).isEqualTo(id);

        ObjectNode b = AgentClient.enrollBody();
        JsonNode local = Json.MAPPER.readTree("{\"elastic\":{\"agent\":{\"version\":\"9.6.0\"}},\"host\":{\"hostname\":\"h\"}}");
        ((ObjectNode) b.get("metadata")).set("local", local);
        AgentClient.Reply without = enroll(token(), Json.string(b));
        assertThat(without.json().at("/item/local_metadata")).isEqualTo(local);
        assertThat(agentDoc(fleet.daemon(), without.json().at("/item/id").asText()).get("local_metadata")).isEqualTo(local);
    }

    @Test
    void enrolledAtIsUtcToTheSecond() {
        String enrolledAt = enroll(token(), body()).json().at("/item/enrolled_at").asText();
        assertThat(enrolledAt).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");
    }

    @Test
    void aSnapshotBuildsUserAgentIsAcceptedAndItsVersionRecorded() {
        AgentClient.Reply r = enroll(token(), "Elastic Agent v9.6.0-SNAPSHOT", body());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(agentDoc(fleet.daemon(), r.json().at("/item/id").asText()).at("/agent/version").asText()).isEqualTo("9.6.0");
    }

    @Test
    void twoAuthorizationHeadersAreAMalformedHeader() throws Exception {
        byte[] b = body().getBytes(StandardCharsets.UTF_8);
        Map<String, String> h = E2eSupport.agentHeaders(token());
        h.put("Content-Length", String.valueOf(b.length));
        byte[] request = RawConnection.request("POST", "/api/fleet/agents/enroll?", h, b);
        String withSecond = new String(request, StandardCharsets.ISO_8859_1)
                .replaceFirst("\r\n\r\n", "\r\nAuthorization: " + token() + "\r\n\r\n");
        try (RawConnection c = new RawConnection(fleet.port())) {
            RawResponse r = c.sendBytes(withSecond.getBytes(StandardCharsets.ISO_8859_1)).read();
            assertThat(r.status()).as(r.text()).isEqualTo(400);
            assertThat(r.json().get("error").asText()).isEqualTo("ErrMalformedHeader");
        }
    }

    @Test
    void anEnrollBodyOver512KibibytesIsABadRequest() throws Exception {
        Map<String, String> h = E2eSupport.agentHeaders(token());
        h.put("Content-Length", String.valueOf(512 * 1024 + 1));
        try (RawConnection c = new RawConnection(fleet.port())) {
            RawResponse r = c.send("POST", "/api/fleet/agents/enroll?", h, null).read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.json().get("error").asText()).isEqualTo("BadRequest");
        }
    }

    @Test
    void enrollWithoutAnyUserAgentHeaderIsTheGeneratedWrappers500() throws Exception {
        byte[] b = body().getBytes(StandardCharsets.UTF_8);
        Map<String, String> h = E2eSupport.agentHeaders(token());
        h.remove("User-Agent");
        h.put("Content-Length", String.valueOf(b.length));
        try (RawConnection c = new RawConnection(fleet.port())) {
            RawResponse r = c.send("POST", "/api/fleet/agents/enroll?", h, b).read();
            assertThat(r.status()).as(r.text()).isEqualTo(500);
            assertThat(r.json()).isEqualTo(Json.object().put("statusCode", 500).put("error", "BadRequest")
                    .put("message", "Header parameter User-Agent is required, but not found"));
        }
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
