package dev.fleetserver.core.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class AgentStatusTest {
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");

    private static Agent agent(String json) throws Exception {
        return new Agent(new Doc(FleetIndex.AGENTS, "a1", 1, 1, (ObjectNode) Json.MAPPER.readTree(json)));
    }

    private static String checkedIn(Duration ago, String status) {
        return "{\"active\":true,\"last_checkin\":\"" + NOW.minus(ago) + "\",\"last_checkin_status\":\"" + status + "\"}";
    }

    @Test
    void anAgentThatCheckedInRecentlyIsOnline() throws Exception {
        assertThat(AgentStatus.of(agent(checkedIn(Duration.ofSeconds(10), "online")), NOW)).isEqualTo("online");
        assertThat(AgentStatus.of(agent(checkedIn(Duration.ofSeconds(10), "starting")), NOW)).isEqualTo("online");
        assertThat(AgentStatus.of(agent("{\"active\":true,\"last_checkin\":\"" + NOW + "\"}"), NOW)).isEqualTo("online");
    }

    @Test
    void anAgentSilentForMoreThanFiveMinutesIsOffline() throws Exception {
        assertThat(AgentStatus.of(agent(checkedIn(Duration.ofMinutes(5), "online")), NOW)).isEqualTo("online");
        assertThat(AgentStatus.of(agent(checkedIn(Duration.ofMinutes(5).plusSeconds(1), "online")), NOW))
                .isEqualTo("offline");
        assertThat(AgentStatus.of(agent(checkedIn(Duration.ofHours(3), "error")), NOW)).isEqualTo("offline");
    }

    @Test
    void anAgentReportingErrorsIsInErrorWhateverTheCase() throws Exception {
        for (String s : List.of("error", "ERROR", "failed", "FAILED")) {
            assertThat(AgentStatus.of(agent(checkedIn(Duration.ofSeconds(10), s)), NOW)).as(s).isEqualTo("error");
        }
    }

    @Test
    void anAgentReportingDegradedIsDegraded() throws Exception {
        assertThat(AgentStatus.of(agent(checkedIn(Duration.ofSeconds(10), "DEGRADED")), NOW)).isEqualTo("degraded");
        assertThat(AgentStatus.of(agent(checkedIn(Duration.ofSeconds(10), "degraded")), NOW)).isEqualTo("degraded");
    }

    @Test
    void anActiveAgentThatNeverCheckedInIsEnrolling() throws Exception {
        assertThat(AgentStatus.of(agent("{\"active\":true}"), NOW)).isEqualTo("enrolling");
        assertThat(AgentStatus.of(agent("{\"active\":true,\"last_checkin\":\"garbage\"}"), NOW)).isEqualTo("enrolling");
    }

    @Test
    void anInactiveAgentIsUnenrolledWhenItHasAnUnenrolledAtAndInactiveOtherwise() throws Exception {
        assertThat(AgentStatus.of(agent("{\"active\":false,\"unenrolled_at\":\"" + NOW + "\"}"), NOW))
                .isEqualTo("unenrolled");
        assertThat(AgentStatus.of(agent("{\"active\":false,\"last_checkin\":\"" + NOW + "\"}"), NOW))
                .isEqualTo("inactive");
        assertThat(AgentStatus.of(agent("{}"), NOW)).isEqualTo("inactive");
    }

    @Test
    void anAgentThatReportedItsUninstallOrOrphaningShowsItAheadOfItsCheckinsButNotOfItsUnenrollment() throws Exception {
        String uninstalled = "{\"active\":true,\"audit_unenrolled_reason\":\"uninstall\",\"last_checkin\":\"";
        // Silent for hours, or never checked in at all: the report wins over offline and enrolling.
        assertThat(AgentStatus.of(agent(uninstalled + NOW.minus(Duration.ofHours(3)) + "\"}"), NOW))
                .isEqualTo("uninstalled");
        assertThat(AgentStatus.of(agent(uninstalled + NOW + "\",\"last_checkin_status\":\"error\"}"), NOW))
                .isEqualTo("uninstalled");
        assertThat(AgentStatus.of(agent("{\"active\":true,\"audit_unenrolled_reason\":\"orphaned\"}"), NOW))
                .isEqualTo("orphaned");
        // Unenrolled comes first; other reasons are no status of their own.
        assertThat(AgentStatus.of(agent("{\"active\":false,\"unenrolled_at\":\"" + NOW
                + "\",\"audit_unenrolled_reason\":\"uninstall\"}"), NOW)).isEqualTo("unenrolled");
        assertThat(AgentStatus.of(agent("{\"active\":true,\"audit_unenrolled_reason\":\"migrated\",\"last_checkin\":\""
                + NOW + "\"}"), NOW)).isEqualTo("online");
    }
}
