package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class AnswerRulesTest {
    @Test
    void okAnswersAndRetryLaterWithRetryAfterAreNoViolationForAgents() {
        Map<String, Long> answers = Map.of("checkin.200", 10L, "ack.503.ra", 3L, "enroll.429.ra", 2L);

        assertThat(AnswerRules.agentViolations(answers, true)).isEmpty();
    }

    @Test
    void aFourOhOneIsAViolationForAgentsEvenWithRetryAfter() {
        Map<String, Long> answers = Map.of("checkin.401", 1L, "checkin.401.ra", 2L, "checkin.200", 5L);

        assertThat(AnswerRules.agentViolations(answers, true)).containsOnly(Map.entry("checkin.401", 1L),
                Map.entry("checkin.401.ra", 2L));
    }

    @Test
    void aServiceUnavailableWithoutRetryAfterIsAViolation() {
        assertThat(AnswerRules.agentViolations(Map.of("ack.503", 4L, "ack.500.ra", 1L), true))
                .containsOnlyKeys("ack.503", "ack.500.ra");
    }

    @Test
    void whenRetryLaterIsNotAllowedOnlyOkAnswersPass() {
        assertThat(AnswerRules.agentViolations(Map.of("checkin.200", 3L, "checkin.429.ra", 1L), false))
                .containsOnlyKeys("checkin.429.ra");
    }

    @Test
    void countersThatDidNotGrowAreNoViolation() {
        assertThat(AnswerRules.agentViolations(Map.of("checkin.401", 0L), true)).isEmpty();
    }

    @Test
    void anAttackerMayGetAnyClientErrorAndServerErrorsWithRetryAfter() {
        Map<String, Long> answers = Map.of("401", 100L, "400", 3L, "413", 1L, "429.ra", 5L, "503.ra", 7L, "408", 2L);

        assertThat(AnswerRules.attackViolations(answers)).isEmpty();
    }

    @Test
    void anAttackerThatGetsOkOrAServerErrorWithoutRetryAfterIsAViolation() {
        Map<String, Long> answers = Map.of("200", 1L, "500", 2L, "503", 3L, "401", 4L);

        assertThat(AnswerRules.attackViolations(answers)).containsOnlyKeys("200", "500", "503");
    }

    @Test
    void theDeltaKeepsOnlyCountersThatGrew() {
        Map<String, Long> before = Map.of("checkin.200", 5L, "ack.200", 2L);
        Map<String, Long> after = Map.of("checkin.200", 9L, "ack.200", 2L, "enroll.503.ra", 1L);

        assertThat(AnswerRules.delta(before, after)).containsOnly(Map.entry("checkin.200", 4L),
                Map.entry("enroll.503.ra", 1L));
    }

    @Test
    void countAddsUpOneStatusOverAllSteps() {
        Map<String, Long> answers = Map.of("checkin.503.ra", 4L, "ack.503.ra", 1L, "ack.503", 7L, "checkin.200", 9L);

        assertThat(AnswerRules.count(answers, 503, true)).isEqualTo(5);
        assertThat(AnswerRules.count(answers, 503, false)).isEqualTo(7);
    }
}
