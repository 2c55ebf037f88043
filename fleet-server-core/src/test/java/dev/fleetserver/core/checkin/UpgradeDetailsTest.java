package dev.fleetserver.core.checkin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.util.Json;
import org.junit.jupiter.api.Test;

/** The original's checks on the upgrade progress an agent reports. */
class UpgradeDetailsTest {

    @Test
    void aFailedUpgradeNeedsAnErrorMessageAndKeepsOnlyTheFailureMetadata() throws Exception {
        JsonNode ok = CheckinService.validUpgradeDetails(json("{\"state\":\"UPG_FAILED\",\"action_id\":\"u\","
                + "\"metadata\":{\"failed_state\":\"UPG_DOWNLOADING\",\"error_msg\":\"no space\",\"download_percent\":40}}"));
        assertThat(ok.get("metadata")).isEqualTo(json("{\"failed_state\":\"UPG_DOWNLOADING\",\"error_msg\":\"no space\"}"));
        assertInvalid("{\"state\":\"UPG_FAILED\",\"metadata\":{}}");
        assertInvalid("{\"state\":\"UPG_FAILED\"}");
    }

    @Test
    void aScheduledUpgradeNeedsAValidScheduledAt() throws Exception {
        JsonNode ok = json("{\"state\":\"UPG_SCHEDULED\",\"metadata\":{\"scheduled_at\":\"2030-01-01T00:00:00Z\"}}");
        assertThat(CheckinService.validUpgradeDetails(ok)).isEqualTo(ok);
        assertInvalid("{\"state\":\"UPG_SCHEDULED\",\"metadata\":{\"scheduled_at\":\"soon\"}}");
        assertInvalid("{\"state\":\"UPG_SCHEDULED\"}");
    }

    @Test
    void downloadProgressMustBeANumberAndOtherStatesPassAsTheyAre() throws Exception {
        assertInvalid("{\"state\":\"UPG_DOWNLOADING\",\"metadata\":{\"download_percent\":\"ten\"}}");
        JsonNode watching = json("{\"state\":\"UPG_WATCHING\",\"target_version\":\"9.6.1\"}");
        assertThat(CheckinService.validUpgradeDetails(watching)).isEqualTo(watching);
    }

    private static void assertInvalid(String details) {
        assertThatThrownBy(() -> CheckinService.validUpgradeDetails(json(details)))
                .isInstanceOfSatisfying(FleetException.class, e -> {
                    assertThat(e.error()).isEqualTo(FleetError.INTERNAL);
                    assertThat(e.getMessage()).startsWith("failed to update upgrade_details: invalid upgrade metadata");
                });
    }

    private static JsonNode json(String s) {
        try {
            return Json.MAPPER.readTree(s);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
