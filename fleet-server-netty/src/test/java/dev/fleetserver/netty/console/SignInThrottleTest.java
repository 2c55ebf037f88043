package dev.fleetserver.netty.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The sign-in throttle on a clock the test moves. */
class SignInThrottleTest {
    private static final Duration MAX_PAUSE = Duration.ofMinutes(5);
    private final AtomicLong now = new AtomicLong(0);
    private final SignInThrottle throttle = new SignInThrottle(MAX_PAUSE, now::get);

    private void fail(int times) {
        for (int i = 0; i < times; i++) {
            throttle.failed();
        }
    }

    @Test
    void aFewWrongTokensCostNothing() {
        fail(SignInThrottle.FREE_FAILURES - 1);
        assertThat(throttle.retryAfterSeconds()).isZero();
    }

    @Test
    void beyondThemEachWrongTokenDoublesThePause() {
        fail(SignInThrottle.FREE_FAILURES);
        assertThat(throttle.retryAfterSeconds()).isEqualTo(1);

        now.addAndGet(Duration.ofSeconds(1).toNanos());
        assertThat(throttle.retryAfterSeconds()).isZero();
        fail(1);
        assertThat(throttle.retryAfterSeconds()).isEqualTo(2);
        fail(1);
        assertThat(throttle.retryAfterSeconds()).isEqualTo(4);
    }

    @Test
    void thePauseIsCappedAndTheRightTokenEndsIt() {
        fail(100);
        assertThat(throttle.retryAfterSeconds()).isEqualTo(MAX_PAUSE.toSeconds());

        throttle.succeeded();
        assertThat(throttle.retryAfterSeconds()).isZero();
        fail(SignInThrottle.FREE_FAILURES - 1);
        assertThat(throttle.retryAfterSeconds()).isZero();
    }
}
