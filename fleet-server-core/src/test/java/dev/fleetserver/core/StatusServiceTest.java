package dev.fleetserver.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.self.HealthSignals;
import java.time.Clock;
import org.junit.jupiter.api.Test;

class StatusServiceTest {
    @Test
    void aFailureStaysWhateverStateIsSetAfterItAndTheFirstReasonWins() throws Exception {
        StatusService status = new StatusService(null, new HealthSignals(Clock.systemUTC()));
        status.state(StatusService.State.HEALTHY);

        status.failed("the store is damaged");
        status.failed("something else");
        status.state(StatusService.State.HEALTHY);

        assertThat(status.state()).isEqualTo(StatusService.State.FAILED);
        assertThat(status.failure()).isEqualTo("the store is damaged");
        assertThat(status.status(null).get().get("status").asText()).isEqualTo("FAILED");
    }

    @Test
    void aHealthyServerIsDegradedWhileItsStoreCannotBeReachedAndHealthyAgainAtTheFirstAnswer() throws Exception {
        HealthSignals health = new HealthSignals(Clock.systemUTC());
        StatusService status = new StatusService(null, health);
        status.state(StatusService.State.HEALTHY);

        health.storeCall("search", 1_000, true);
        assertThat(status.state()).isEqualTo(StatusService.State.DEGRADED);
        assertThat(status.status(null).get().get("status").asText()).isEqualTo("DEGRADED");

        health.storeCall("get", 1_000, false);
        assertThat(status.state()).isEqualTo(StatusService.State.HEALTHY);
    }

    @Test
    void aServerStillStartingStaysStartingWhenItsStoreFails() {
        HealthSignals health = new HealthSignals(Clock.systemUTC());
        StatusService status = new StatusService(null, health);
        health.storeCall("search", 1_000, true);
        assertThat(status.state()).isEqualTo(StatusService.State.STARTING);
    }
}
