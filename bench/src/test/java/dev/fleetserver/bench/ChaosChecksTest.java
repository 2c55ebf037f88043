package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChaosChecksTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void transportErrorsAreTheGrowthOfResetTimeoutAndRefusedCountersOnly() {
        ObjectNode before = JSON.createObjectNode().put("errors.io", 2).put("connectFailures", 1).put("reconnects", 5);
        ObjectNode after = JSON.createObjectNode().put("errors.io", 2).put("connectFailures", 4).put("reconnects", 90)
                .put("errors.timeout", 3).put("errors.http503", 7);

        assertThat(ChaosChecks.transportErrors(before, after)).containsOnly(Map.entry("connectFailures", 3L),
                Map.entry("errors.timeout", 3L));
    }

    @Test
    void slowAnswersAndBrokenConnectionsAreSeparateChecks() {
        Verdict v = new Verdict();

        ChaosChecks.noTransportErrors(v, Map.of("errors.timeout", 4L));

        assertThat(v.checks()).extracting(Verdict.Check::passed).containsExactly(true, false);
        assertThat(v.checks().get(1).detail()).isEqualTo("4 requests timed out");
    }
}
