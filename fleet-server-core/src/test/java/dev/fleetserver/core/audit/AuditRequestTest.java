package dev.fleetserver.core.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.util.Json;
import org.junit.jupiter.api.Test;

class AuditRequestTest {

    private static AuditService.Request parse(String json) throws Exception {
        return AuditService.Request.parse(json == null ? null : Json.MAPPER.readTree(json));
    }

    private static String badRequest(String json) {
        try {
            parse(json);
        } catch (FleetException e) {
            assertThat(e.error()).isEqualTo(FleetError.BAD_REQUEST);
            return e.getMessage();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("accepted: " + json);
    }

    @Test
    void everyReasonAnAgentMaySendIsAcceptedWithItsTimestampNormalised() throws Exception {
        for (String reason : new String[] {"uninstall", "orphaned", "key_revoked", "migrated"}) {
            AuditService.Request r = parse("{\"reason\":\"" + reason + "\",\"timestamp\":\"2024-01-01T12:00:00.000Z\"}");
            assertThat(r.reason()).isEqualTo(reason);
            assertThat(r.timestamp()).isEqualTo("2024-01-01T12:00:00Z");
        }
    }

    @Test
    void anotherReasonIsTheOriginalsBadRequest() {
        assertThat(badRequest("{\"reason\":\"bogus\",\"timestamp\":\"2024-01-01T12:00:00Z\"}"))
                .isEqualTo("Bad request: audit/unenroll request invalid reason");
        assertThat(badRequest("{\"reason\":\"uninstalled\",\"timestamp\":\"2024-01-01T12:00:00Z\"}"))
                .isEqualTo("Bad request: audit/unenroll request invalid reason");
        assertThat(badRequest("{\"timestamp\":\"2024-01-01T12:00:00Z\"}"))
                .isEqualTo("Bad request: audit/unenroll request invalid reason");
        // The agent reports reenrolled only through OpAMP, never here.
        assertThat(badRequest("{\"reason\":\"reenrolled\",\"timestamp\":\"2024-01-01T12:00:00Z\"}"))
                .isEqualTo("Bad request: audit/unenroll request invalid reason");
    }

    @Test
    void aBodyThatIsNotTheRequestIsABadRequestSayingWhy() {
        assertThat(badRequest(null)).isEqualTo("Bad request: unable to decode audit/unenroll request: EOF");
        assertThat(badRequest("[]")).isEqualTo("Bad request: unable to decode audit/unenroll request: expected a JSON object");
        assertThat(badRequest("{\"reason\":1,\"timestamp\":\"2024-01-01T12:00:00Z\"}"))
                .isEqualTo("Bad request: unable to decode audit/unenroll request: reason must be a string");
        assertThat(badRequest("{\"reason\":\"uninstall\",\"timestamp\":\"yesterday\"}"))
                .startsWith("Bad request: unable to decode audit/unenroll request: parsing time \"yesterday\"");
        assertThat(badRequest("{\"reason\":\"uninstall\"}")).isEqualTo("Bad request: audit/unenroll request timestamp missing");
    }

    @Test
    void anAgentAlreadyMarkedOrphanedIsRefusedWithTheConflict() throws Exception {
        AuditService audit = new AuditService(null, java.time.Clock.systemUTC());
        JsonNode doc = Json.MAPPER.readTree("{\"active\":true,\"audit_unenrolled_reason\":\"orphaned\"}");
        var agent = new dev.fleetserver.core.model.Agent(new dev.fleetserver.core.store.Doc(
                dev.fleetserver.core.store.FleetIndex.AGENTS, "a1", 1, 1, (com.fasterxml.jackson.databind.node.ObjectNode) doc));
        assertThatThrownBy(() -> audit.admit(agent)).isInstanceOf(FleetException.class)
                .extracting(e -> ((FleetException) e).error()).isEqualTo(FleetError.AUDIT_REASON_CONFLICT);
    }
}
