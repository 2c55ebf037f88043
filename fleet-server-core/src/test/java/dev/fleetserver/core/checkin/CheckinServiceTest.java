package dev.fleetserver.core.checkin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.longpoll.CheckinRegistry;
import dev.fleetserver.core.util.Json;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CheckinServiceTest {
    private final CheckinService service = new CheckinService(null, null, null, null, null, null, null, new CheckinRegistry(),
            CheckinSettings.defaults(), null, null);

    private static JsonNode json(String text) throws Exception {
        return Json.MAPPER.readTree(text);
    }

    @Test
    void withoutAPollTimeoutTheLongPollIsUsed() {
        assertThat(service.basePoll(null)).isEqualTo(Duration.ofMinutes(5));
        assertThat(service.basePoll(Duration.ZERO)).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void thePollIsTwoMinutesShorterThanThePollTimeout() {
        assertThat(service.basePoll(Duration.ofMinutes(10))).isEqualTo(Duration.ofMinutes(8));
        assertThat(service.basePoll(Duration.ofMinutes(5))).isEqualTo(Duration.ofMinutes(3));
    }

    @Test
    void thePollIsNeverUnderOneMinute() {
        assertThat(service.basePoll(Duration.ofMinutes(3))).isEqualTo(Duration.ofMinutes(1));
        assertThat(service.basePoll(Duration.ofMinutes(1))).isEqualTo(Duration.ofMinutes(1));
        assertThat(service.basePoll(Duration.ofSeconds(1))).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void thePollIsCappedAtTheMaxPoll() {
        assertThat(service.basePoll(Duration.ofHours(2))).isEqualTo(Duration.ofHours(1));
        assertThat(service.basePoll(Duration.ofMinutes(62))).isEqualTo(Duration.ofHours(1));
        assertThat(service.basePoll(Duration.ofMinutes(61))).isEqualTo(Duration.ofMinutes(59));
    }

    @Test
    void theLongPollAndMaxPollComeFromTheSettings() {
        CheckinService custom = new CheckinService(null, null, null, null, null, null, null, new CheckinRegistry(),
                new CheckinSettings(Duration.ofMinutes(7), Duration.ZERO, Duration.ofMinutes(20), Duration.ofSeconds(30),
                        Duration.ofSeconds(10)), null, null);

        assertThat(custom.basePoll(null)).isEqualTo(Duration.ofMinutes(7));
        assertThat(custom.basePoll(Duration.ofHours(1))).isEqualTo(Duration.ofMinutes(20));
    }

    @Test
    void anUnhealthyInputUnitIsReportedAsInput() throws Exception {
        JsonNode c = json("[{\"status\":\"FAILED\",\"units\":[{\"type\":\"input\",\"status\":\"FAILED\"},"
                + "{\"type\":\"output\",\"status\":\"HEALTHY\"}]}]");

        assertThat(CheckinService.unhealthyReasons(c)).containsExactly("input");
    }

    @Test
    void anUnhealthyOutputUnitIsReportedAsOutput() throws Exception {
        JsonNode c = json("[{\"status\":\"DEGRADED\",\"units\":[{\"type\":\"output\",\"status\":\"DEGRADED\"}]}]");

        assertThat(CheckinService.unhealthyReasons(c)).containsExactly("output");
    }

    @Test
    void unhealthyInputAndOutputUnitsAreBothReportedInThatOrder() throws Exception {
        JsonNode c = json("[{\"status\":\"FAILED\",\"units\":[{\"type\":\"output\",\"status\":\"FAILED\"}]},"
                + "{\"status\":\"DEGRADED\",\"units\":[{\"type\":\"input\",\"status\":\"DEGRADED\"}]}]");

        assertThat(CheckinService.unhealthyReasons(c)).containsExactly("input", "output");
    }

    @Test
    void anUnhealthyComponentWithoutUnhealthyUnitsIsOther() throws Exception {
        JsonNode c = json("[{\"status\":\"FAILED\",\"units\":[{\"type\":\"input\",\"status\":\"HEALTHY\"}]},"
                + "{\"status\":\"DEGRADED\"}]");

        assertThat(CheckinService.unhealthyReasons(c)).containsExactly("other");
    }

    @Test
    void unhealthyUnitsOfAHealthyComponentDoNotCount() throws Exception {
        JsonNode c = json("[{\"status\":\"HEALTHY\",\"units\":[{\"type\":\"input\",\"status\":\"FAILED\"}]}]");

        assertThat(CheckinService.unhealthyReasons(c)).isEmpty();
    }

    @Test
    void healthyOrMissingComponentsGiveNoReason() throws Exception {
        assertThat(CheckinService.unhealthyReasons(json("[{\"status\":\"HEALTHY\",\"units\":[]}]"))).isEmpty();
        assertThat(CheckinService.unhealthyReasons(json("[]"))).isEmpty();
        assertThat(CheckinService.unhealthyReasons(json("{}"))).isEmpty();
        assertThat(CheckinService.unhealthyReasons(json("null"))).isEmpty();
    }

    @Test
    void statusesAreComparedCaseInsensitively() throws Exception {
        JsonNode c = json("[{\"status\":\"failed\",\"units\":[{\"type\":\"input\",\"status\":\"Degraded\"}]},"
                + "{\"status\":\"Degraded\",\"units\":[{\"type\":\"output\",\"status\":\"failed\"}]}]");

        assertThat(CheckinService.unhealthyReasons(c)).isEqualTo(List.of("input", "output"));
    }

    @Test
    void otherUnitTypesCountAsOther() throws Exception {
        JsonNode c = json("[{\"status\":\"FAILED\",\"units\":[{\"type\":\"shipper\",\"status\":\"FAILED\"}]}]");

        assertThat(CheckinService.unhealthyReasons(c)).containsExactly("other");
    }
}
