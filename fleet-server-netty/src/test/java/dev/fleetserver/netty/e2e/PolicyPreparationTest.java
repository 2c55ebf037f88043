package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The POLICY_CHANGE an agent receives is prepared: secrets resolved, references dropped, remote outputs made plain. */
class PolicyPreparationTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    @Test
    void anAgentReceivesItsPolicyWithSecretsResolvedAndTheirPathsListed() throws Exception {
        fleet.daemon().store().create(FleetIndex.SECRETS, "es-pass", Json.object().put("value", "s3cret"))
                .get(5, TimeUnit.SECONDS);
        fleet.daemon().store().create(FleetIndex.SECRETS, "remote-token", Json.object().put("value", "AAEAAW"))
                .get(5, TimeUnit.SECONDS);
        AgentClient.Reply put = E2eSupport.management(fleet.daemon(), "PUT", "/api/fleet/agent_policies/default", """
                {"secret_references":[{"id":"es-pass"},{"id":"remote-token"}],
                 "outputs":{"default":{"type":"elasticsearch","hosts":["http://127.0.0.1:9200"],
                                        "password":"$co.elastic.secret{es-pass}"},
                            "remote":{"type":"remote_elasticsearch","hosts":["https://remote:9200"],
                                      "service_token":"$co.elastic.secret{remote-token}"}},
                 "inputs":[{"id":"logs","type":"logfile","streams":[{"id":"s","secrets":{"api.key":{"id":"es-pass"}}}]}]}""");
        assertThat(put.status()).as(put.body()).isEqualTo(200);

        JsonNode item = fleet.agent().enroll(fleet.daemon().enrollmentToken());
        JsonNode policy = fleet.agent().checkin(item.get("id").asText(), item.get("access_api_key").asText(),
                AgentClient.checkinBody("starting")).json().at("/actions/0/data/policy");

        assertThat(policy.get("revision").asLong()).isEqualTo(2);
        assertThat(policy.at("/outputs/default/password").asText()).isEqualTo("s3cret");
        assertThat(policy.at("/inputs/0/streams/0/api/key").asText()).isEqualTo("s3cret");
        assertThat(policy.at("/outputs/remote/type").asText()).isEqualTo("elasticsearch");
        assertThat(policy.at("/outputs/remote").has("service_token")).isFalse();
        assertThat(policy.get("secret_paths")).isEqualTo(Json.MAPPER.readTree(
                "[\"inputs.0.streams.0.api.key\",\"outputs.default.password\"]"));
        assertThat(policy.toString()).doesNotContain("secret_references").doesNotContain("$co.elastic.secret");
    }
}
