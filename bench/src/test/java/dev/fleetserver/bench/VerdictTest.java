package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VerdictTest {
    @Test
    void aPhaseWithEveryCheckPassedPasses() {
        Verdict v = new Verdict();
        v.check("server alive", true, "alive");
        v.check("acks lost: 0", true, "0 of 10");

        assertThat(v.passed()).isTrue();
        assertThat(v.line("kill9")).isEqualTo("chaos kill9: PASS (2 checks)");
    }

    @Test
    void oneFailedCheckFailsThePhaseAndTheLineNamesItWithItsDetail() {
        Verdict v = new Verdict();
        v.check("server alive", false, "died 3.2 s into the attack (OutOfMemoryError)");
        v.check("acks lost: 0", true, "0 of 10");

        assertThat(v.passed()).isFalse();
        assertThat(v.line("memory-attack")).isEqualTo("chaos memory-attack: FAIL (1 of 2 checks failed: server alive"
                + " — died 3.2 s into the attack (OutOfMemoryError))");
    }

    @Test
    void aPhaseThatRecordedNoCheckDoesNotPass() {
        Verdict v = new Verdict();

        assertThat(v.passed()).isFalse();
        assertThat(v.line("es-outage")).isEqualTo("chaos es-outage: FAIL (no check recorded)");
    }

    @Test
    void theJsonListsEveryCheckInOrder() {
        Verdict v = new Verdict();
        v.check("a", true, "x");
        v.check("b", false, "y");

        assertThat(v.toJson().toString()).isEqualTo(
                "[{\"check\":\"a\",\"passed\":true,\"detail\":\"x\"},{\"check\":\"b\",\"passed\":false,\"detail\":\"y\"}]");
    }
}
