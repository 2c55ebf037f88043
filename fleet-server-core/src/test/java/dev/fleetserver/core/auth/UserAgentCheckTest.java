package dev.fleetserver.core.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class UserAgentCheckTest {
    private final UserAgentCheck check = new UserAgentCheck("9.6.0");

    @ParameterizedTest(name = "\"{0}\" is accepted as {1}")
    @CsvSource({
        "Elastic Agent v9.6.0, 9.6.0",
        "ELASTIC AGENT V9.6.0, 9.6.0",
        "elastic agent v9.6.0, 9.6.0",
        "Elastic Agent v9.6.0-SNAPSHOT, 9.6.0",
        "Elastic Agent v9.6.99, 9.6.99",
        "Elastic Agent v9.5.3, 9.5.3",
        "Elastic Agent v8.19.0, 8.19.0",
        "Elastic Agent v7.13.0, 7.13.0",
        "Elastic Agent 9.6.0, 9.6.0",
        "Elastic Agent v9.6, 9.6.0",
    })
    void acceptsSupportedAgentsAndReturnsMajorMinorPatch(String userAgent, String version) {
        assertThat(check.check(userAgent)).isEqualTo(version);
    }

    @ParameterizedTest(name = "\"{0}\" is UnsupportedVersion")
    @ValueSource(strings = {"Elastic Agent v9.7.0", "Elastic Agent v10.0.0", "Elastic Agent v7.12.9", "Elastic Agent v6.8.0",
        "Elastic Agent v9.7.0-SNAPSHOT"})
    void rejectsVersionsOutsideTheSupportedRange(String userAgent) {
        assertThatThrownBy(() -> check.check(userAgent)).isInstanceOfSatisfying(FleetException.class,
                e -> assertThat(e.error()).isEqualTo(FleetError.UNSUPPORTED_VERSION));
    }

    @Test
    void aMissingUserAgentIsTheOriginalsRequiredHeaderError() {
        assertThatThrownBy(() -> check.check(null)).isInstanceOfSatisfying(FleetException.class, e -> {
            assertThat(e.error()).isEqualTo(FleetError.INTERNAL);
            assertThat(e.getMessage()).isEqualTo("Header parameter User-Agent is required, but not found");
        });
    }

    @ParameterizedTest(name = "\"{0}\" is InvalidUserAgent")
    @ValueSource(strings = {"elastic-agent 9.6.0", "garbage", "", "Elastic Agent", "Elastic Agent ", "Elastic Agent vx.y.z",
        "Mozilla/5.0", "Elastic Agent v9..0"})
    void rejectsMalformedUserAgents(String userAgent) {
        assertThatThrownBy(() -> check.check(userAgent)).isInstanceOfSatisfying(FleetException.class,
                e -> assertThat(e.error()).isEqualTo(FleetError.INVALID_USER_AGENT));
    }

    @Test
    void aServerVersionThatCannotBeParsedIsRefused() {
        assertThatThrownBy(() -> new UserAgentCheck("nine")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theSupportedRangeFollowsTheServerVersion() {
        UserAgentCheck old = new UserAgentCheck("8.15.2");

        assertThat(old.check("Elastic Agent v8.15.7")).isEqualTo("8.15.7");
        assertThatThrownBy(() -> old.check("Elastic Agent v8.16.0")).isInstanceOf(FleetException.class);
    }
}
