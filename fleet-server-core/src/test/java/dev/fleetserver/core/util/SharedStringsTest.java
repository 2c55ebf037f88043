package dev.fleetserver.core.util;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SharedStringsTest {
    private final SharedStrings shared = new SharedStrings();

    @Test
    void equalStringsComeBackAsOneInstance() {
        String first = shared.share(new String("policy-1"));
        assertThat(shared.share(new String("policy-1"))).isSameAs(first);
        assertThat(shared.share("online")).isEqualTo("online");
    }

    @Test
    void nullAndLongStringsPassThroughUnshared() {
        assertThat(shared.share(null)).isNull();
        String longOne = "x".repeat(SharedStrings.MAX_LENGTH + 1);
        assertThat(shared.share(longOne)).isSameAs(longOne);
        assertThat(shared.size()).isZero();
    }

    @Test
    void manyDistinctValuesNeverGrowItPastItsBound() {
        for (int i = 0; i < SharedStrings.MAX_ENTRIES * 3; i++) {
            assertThat(shared.share("ack-" + i)).isEqualTo("ack-" + i);
        }
        assertThat(shared.size()).isLessThanOrEqualTo(SharedStrings.MAX_ENTRIES);
    }
}
