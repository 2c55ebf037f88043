package dev.fleetserver.netty.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Json;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class ErrorMapperTest {

    @Test
    void aStoreThatRefusedTheRequestIsA500WithoutTheBackEndsText() {
        ErrorMapper.Mapped m = ErrorMapper.map(new CompletionException(new StoreException(
                "elastic fail 400: action_request_validation_exception: Validation Failed: 1: id [xxx] is too long")));

        assertThat(m.status().code()).isEqualTo(500);
        assertThat(m.body()).isEqualTo(Json.object().put("statusCode", 500).put("error", "BadRequest").put("message", "internal error"));
        assertThat(m.retryAfterSeconds()).isZero();
    }

    @Test
    void aDocumentMissingInTheStoreIsNoOutageEither() {
        assertThat(ErrorMapper.map(new StoreException.NotFound("document missing")).status().code()).isEqualTo(500);
    }

    @Test
    void aWriteThatLostEveryRetryToConcurrentWritesIsA503ToRetrySoon() {
        ErrorMapper.Mapped m = ErrorMapper.map(new CompletionException(new StoreException.Conflict("version conflict")));

        assertThat(m.status().code()).isEqualTo(503);
        assertThat(m.body()).isEqualTo(Json.object().put("statusCode", 503).put("error", "ServiceUnavailable")
                .put("message", "the document changed while the request was applied; retry"));
        assertThat(m.retryAfterSeconds()).isBetween(1L, 5L);
    }

    @Test
    void anOutageIsA503ServiceUnavailableWithRetryAfter() {
        ErrorMapper.Mapped m = ErrorMapper.map(new StoreException.Unavailable("elastic fail 429: es_rejected_execution_exception", null));

        assertThat(m.status().code()).isEqualTo(503);
        assertThat(m.body().get("error").asText()).isEqualTo("ServiceUnavailable");
        assertThat(m.body().get("message").asText()).isEqualTo("Fleet server unable to communicate with Elasticsearch");
        assertThat(m.retryAfterSeconds()).isBetween(5L, 15L);
    }

    @Test
    void aKeyThatIsNotAnActiveEnrollmentKeyIsUnauthorized() {
        ErrorMapper.Mapped m = ErrorMapper.map(new FleetException(FleetError.ENROLLMENT_KEY_NOT_ACTIVE));

        assertThat(m.status().code()).isEqualTo(401);
        assertThat(m.body()).isEqualTo(Json.object().put("statusCode", 401).put("error", "ErrUnauthorized")
                .put("message", "not an active enrollment token"));
    }
}
