package dev.fleetserver.core.util;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GoDurationTest {

    @ParameterizedTest(name = "\"{0}\" is {1} ns")
    @CsvSource({
        "5m, 300000000000",
        "1h30m, 5400000000000",
        "1.5h, 5400000000000",
        "300ms, 300000000",
        "-2m, -120000000000",
        "+2m, 120000000000",
        "0, 0",
        "-0, 0",
        "2us, 2000",
        "2µs, 2000",
        "7ns, 7",
        "1h0m0s, 3600000000000",
        ".5s, 500000000",
        "1.s, 1000000000",
        "1.000000001s, 1000000001",
        "2h45m30.5s, 9930500000000",
    })
    void parsesWhatGoParses(String text, long nanos) {
        assertThat(GoDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
    }

    @ParameterizedTest(name = "\"{0}\" is rejected")
    @ValueSource(strings = {"", "abc", "5", "5x", ".", "-", "+", "1h-5m", " 5m", "5m ", "-.s", "1..5s", "h"})
    void rejectsWhatGoRejects(String text) {
        assertThatThrownBy(() -> GoDuration.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("time: ")
                .hasMessageContaining("\"" + text + "\"");
    }

    @Test
    void errorMessagesUseGosWording() {
        assertThatThrownBy(() -> GoDuration.parse("abc")).hasMessage("time: invalid duration \"abc\"");
        assertThatThrownBy(() -> GoDuration.parse("")).hasMessage("time: invalid duration \"\"");
        assertThatThrownBy(() -> GoDuration.parse("5")).hasMessage("time: missing unit in duration \"5\"");
        assertThatThrownBy(() -> GoDuration.parse("5x")).hasMessage("time: unknown unit \"x\" in duration \"5x\"");
    }

    @Test
    void nullIsRejectedLikeTheEmptyString() {
        assertThatThrownBy(() -> GoDuration.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0} ns formats as \"{1}\"")
    @CsvSource({
        "0, 0s",
        "300000000000, 5m0s",
        "3600000000000, 1h0m0s",
        "5400000000000, 1h30m0s",
        "90000000000, 1m30s",
        "250000000, 250ms",
        "1500000000, 1.5s",
        "-120000000000, -2m0s",
        "-250000000, -250ms",
        "1000000000, 1s",
    })
    void formatsLikeGosDurationString(long nanos, String text) {
        assertThat(GoDuration.format(Duration.ofNanos(nanos))).isEqualTo(text);
    }

    @Test
    void formattedDurationsParseBackToThemselves() {
        for (Duration d : new Duration[] {Duration.ofMinutes(5), Duration.ofHours(26).plusSeconds(7), Duration.ofMillis(1500),
                Duration.ofMillis(250), Duration.ofMinutes(-3)}) {
            assertThat(GoDuration.parse(GoDuration.format(d))).isEqualTo(d);
        }
    }

    @Test
    void fractionsOfTheUnitAreTruncatedLikeGo() {
        assertThat(GoDuration.parse("1.5ns")).isEqualTo(Duration.ofNanos(1));
        assertThat(GoDuration.parse("0.9ns")).isEqualTo(Duration.ZERO);
    }

    @Test
    void overflowIsAnErrorAndLargeValuesStayExact() {
        assertThatThrownBy(() -> GoDuration.parse("9223372036854775808ns")).isInstanceOf(IllegalArgumentException.class);
        assertThat(GoDuration.parse("-9223372036854775808ns")).isEqualTo(Duration.ofNanos(Long.MIN_VALUE));
        assertThat(GoDuration.parse("1000000h1ns")).isEqualTo(Duration.ofHours(1_000_000).plusNanos(1));
    }
}
