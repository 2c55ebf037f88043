package dev.fleetserver.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StatusServiceTest {
    @Test
    void aFailureStaysWhateverStateIsSetAfterItAndTheFirstReasonWins() throws Exception {
        StatusService status = new StatusService(null);
        status.state(StatusService.State.HEALTHY);

        status.failed("the store is damaged");
        status.failed("something else");
        status.state(StatusService.State.HEALTHY);

        assertThat(status.state()).isEqualTo(StatusService.State.FAILED);
        assertThat(status.failure()).isEqualTo("the store is damaged");
        assertThat(status.status(null).get().get("status").asText()).isEqualTo("FAILED");
    }
}
