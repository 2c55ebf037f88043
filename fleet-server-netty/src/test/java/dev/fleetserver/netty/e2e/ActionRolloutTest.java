package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A scheduled action is spread over its rollout window, agent i of n starting {@code window * i / n} later, on both
 * delivery paths: to parked agents as it lands, and to agents that were away, on their next checkin.
 */
class ActionRolloutTest {
    private static final Instant START = Instant.parse("2030-01-01T00:00:00Z");

    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();

    @Test
    void aThreeAgentUpgradeWithARolloutWindowGivesThreeStartTimesToParkedAgents() throws Exception {
        fleet.start(server -> server.with("timeouts").put("checkin_long_poll", "30s"));
        List<E2eSupport.Enrolled> agents = new ArrayList<>();
        List<CompletableFuture<AgentClient.Reply>> parked = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            E2eSupport.Enrolled a = fleet.enrollUpToDate();
            agents.add(a);
            parked.add(fleet.agent().checkinAsync(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)));
        }
        E2eSupport.awaitParked(fleet.daemon(), 3);

        E2eSupport.indexAction(fleet.daemon(), "upgrade-doc", upgrade(agents));

        List<String> starts = new ArrayList<>();
        for (CompletableFuture<AgentClient.Reply> p : parked) {
            starts.add(p.get(10, TimeUnit.SECONDS).json().at("/actions/0/start_time").asText());
        }
        assertThat(starts).containsExactly("2030-01-01T00:00:00Z", "2030-01-01T00:20:00Z", "2030-01-01T00:40:00Z");
    }

    @Test
    void agentsThatWereAwayGetTheSameSpreadOnTheirNextCheckin() throws Exception {
        fleet.start();
        List<E2eSupport.Enrolled> agents = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            agents.add(fleet.enrollUpToDate());
        }
        E2eSupport.indexAction(fleet.daemon(), "upgrade-doc", upgrade(agents));

        List<String> starts = new ArrayList<>();
        for (E2eSupport.Enrolled a : agents) {
            starts.add(fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).json()
                    .at("/actions/0/start_time").asText());
        }
        assertThat(starts).containsExactly("2030-01-01T00:00:00Z", "2030-01-01T00:20:00Z", "2030-01-01T00:40:00Z");
    }

    private static ObjectNode upgrade(List<E2eSupport.Enrolled> agents) {
        ObjectNode action = E2eSupport.action("upgrade-rollout", "UPGRADE", agents.get(0).id(),
                Instant.now().plus(Duration.ofDays(3650)), Json.object().put("version", "9.6.1"));
        var list = action.putArray("agents");
        agents.forEach(a -> list.add(a.id()));
        action.put("start_time", START.toString());
        action.put("rollout_duration_seconds", 3600);
        return action;
    }
}
