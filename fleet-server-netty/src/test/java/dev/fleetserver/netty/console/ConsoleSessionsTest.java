package dev.fleetserver.netty.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Console sessions on a clock the test moves. */
class ConsoleSessionsTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final ConsoleSessions sessions = new ConsoleSessions(Duration.ofHours(8), now::get);

    @Test
    void aSessionIsValidForItsLifetimeAndNotASecondLonger() {
        String id = sessions.open();
        now.addAndGet(Duration.ofHours(8).minusSeconds(1).toNanos());
        assertThat(sessions.valid(id)).isTrue();

        now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertThat(sessions.valid(id)).isFalse();
        assertThat(sessions.size()).isZero();
    }

    @Test
    void aClosedUnknownOrMissingSessionIsNotValid() {
        String id = sessions.open();
        sessions.close(id);
        assertThat(sessions.valid(id)).isFalse();
        assertThat(sessions.valid("made-up")).isFalse();
        assertThat(sessions.valid(null)).isFalse();
    }

    @Test
    void sessionIdsAreLongRandomAndDistinct() {
        String a = sessions.open();
        String b = sessions.open();
        assertThat(a).isNotEqualTo(b).hasSize(43).matches("[A-Za-z0-9_-]+");
    }

    @Test
    void theOldestSessionMakesWayWhenTooManyAreOpen() {
        String first = sessions.open();
        for (int i = 1; i < ConsoleSessions.MAX_SESSIONS; i++) {
            sessions.open();
        }
        assertThat(sessions.valid(first)).isTrue();

        String last = sessions.open();

        assertThat(sessions.valid(first)).isFalse();
        assertThat(sessions.valid(last)).isTrue();
        assertThat(sessions.size()).isEqualTo(ConsoleSessions.MAX_SESSIONS);
    }
}
