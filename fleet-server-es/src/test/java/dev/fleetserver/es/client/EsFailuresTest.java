package dev.fleetserver.es.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.store.StoreException;
import org.junit.jupiter.api.Test;

class EsFailuresTest {

    @Test
    void overloadServerErrorsAndRefusedCredentialsAreOutages() {
        for (int status : new int[] {429, 500, 502, 503, 504, 401, 403}) {
            assertThat(EsFailures.of(status, "x")).as("" + status).isInstanceOf(StoreException.Unavailable.class);
        }
    }

    @Test
    void notFoundAndConflictKeepTheirMeaning() {
        assertThat(EsFailures.of(404, "x")).isInstanceOf(StoreException.NotFound.class);
        assertThat(EsFailures.of(409, "x")).isInstanceOf(StoreException.Conflict.class);
    }

    @Test
    void otherClientErrorsAreARefusalOfThisRequestNotAnOutage() {
        for (int status : new int[] {400, 405, 413}) {
            StoreException e = EsFailures.of(status, "elastic fail " + status);
            assertThat(e.getClass()).as("" + status).isEqualTo(StoreException.class);
            assertThat(e.getMessage()).isEqualTo("elastic fail " + status);
        }
    }
}
