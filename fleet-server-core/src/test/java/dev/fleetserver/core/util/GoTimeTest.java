package dev.fleetserver.core.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GoTimeTest {

    @Test
    void aTimestampIsWrittenBackWithItsOffsetAndWithoutTrailingZeros() {
        assertThat(GoTime.normalise("2024-01-01T12:00:00.000Z")).isEqualTo("2024-01-01T12:00:00Z");
        assertThat(GoTime.normalise("2026-01-01T00:00:00.123456789+01:00")).isEqualTo("2026-01-01T00:00:00.123456789+01:00");
        assertThat(GoTime.normalise("2026-01-01T00:00:00.120-07:00")).isEqualTo("2026-01-01T00:00:00.12-07:00");
        assertThat(GoTime.normalise("2026-01-01T00:00:00+00:00")).isEqualTo("2026-01-01T00:00:00Z");
        // What Go sends for a zero time.
        assertThat(GoTime.normalise("0001-01-01T00:00:00Z")).isEqualTo("0001-01-01T00:00:00Z");
    }

    @Test
    void onlyRfc3339IsAccepted() {
        for (String bad : new String[] {"", "2024-01-01", "2024-01-01T12:00Z", "2024-01-01T12:00:00", "2024-13-01T12:00:00Z",
                "2024-02-30T12:00:00Z", "2024-01-01 12:00:00Z", "yesterday", "2024-01-01T12:00:00.Z"}) {
            assertThatThrownBy(() -> GoTime.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("RFC 3339");
        }
    }
}
