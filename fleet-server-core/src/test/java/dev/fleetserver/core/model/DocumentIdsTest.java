package dev.fleetserver.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import org.junit.jupiter.api.Test;

class DocumentIdsTest {

    @Test
    void ordinaryIdsAndEmptyOrAbsentValuesPass() {
        assertThat(DocumentIds.problem("id", "2f0e5c2a-9b1d-4a7e-9c3e-0a1b2c3d4e5f")).isNull();
        assertThat(DocumentIds.problem("id", "policy:default:1")).isNull();
        assertThat(DocumentIds.problem("id", "")).isNull();
        assertThat(DocumentIds.problem("id", null)).isNull();
    }

    @Test
    void theLimitIs512BytesOfUtf8NotCharacters() {
        assertThat(DocumentIds.problem("id", "a".repeat(512))).isNull();
        assertThat(DocumentIds.problem("id", "a".repeat(513))).isEqualTo("id must be at most 512 bytes");
        // "é" is two bytes: 256 of them fit, 257 do not.
        assertThat(DocumentIds.problem("id", "é".repeat(256))).isNull();
        assertThat(DocumentIds.problem("id", "é".repeat(257))).isEqualTo("id must be at most 512 bytes");
        // "€" is three bytes, an emoji (a surrogate pair) four.
        assertThat(DocumentIds.problem("id", "€".repeat(171))).isEqualTo("id must be at most 512 bytes");
        assertThat(DocumentIds.problem("id", "\uD83D\uDE00".repeat(128))).isNull();
        assertThat(DocumentIds.problem("id", "\uD83D\uDE00".repeat(129))).isEqualTo("id must be at most 512 bytes");
    }

    @Test
    void controlCharactersAreRefused() {
        for (String bad : new String[] {"a\u0000b", "line\nbreak", "tab\t", "del\u007F", "c1\u0085"}) {
            assertThat(DocumentIds.problem("action_id", bad)).as(bad).isEqualTo("action_id must not contain control characters");
        }
    }

    @Test
    void requireIsABadRequestNamingTheField() {
        assertThatThrownBy(() -> DocumentIds.require("enrollment_id", "x".repeat(600)))
                .isInstanceOfSatisfying(FleetException.class, e -> {
                    assertThat(e.error()).isEqualTo(FleetError.BAD_REQUEST);
                    assertThat(e.getMessage()).isEqualTo("Bad request: enrollment_id must be at most 512 bytes");
                });
        assertThat(DocumentIds.require("id", "fine")).isEqualTo("fine");
    }
}
