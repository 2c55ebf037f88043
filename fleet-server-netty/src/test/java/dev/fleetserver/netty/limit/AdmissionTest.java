package dev.fleetserver.netty.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.RouteLimitConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdmissionTest {
    private long now;

    private Admission admission(int maxConnections, Map<String, RouteLimitConfig> routes) {
        return new Admission(ResolvedLimits.resolve(new LimitsConfig(-1, 8192, maxConnections, routes), 0), () -> now);
    }

    @Test
    void anEmptyBucketSaysHowLongUntilTheNextTokenRoundedUpToSeconds() {
        Admission a = admission(0, Map.of("enroll", new RouteLimitConfig(Duration.ofMillis(2500), 1, 0, 0, 0)));
        a.admit("enroll").release();
        assertThatThrownBy(() -> a.admit("enroll")).isInstanceOfSatisfying(Rejection.class, r -> {
            assertThat(r.kind()).isEqualTo(Rejection.Kind.RATE_LIMIT);
            assertThat(r.retryAfterSeconds()).isEqualTo(3);
        });
        now += Duration.ofMillis(2400).toNanos();
        assertThatThrownBy(() -> a.admit("enroll")).isInstanceOfSatisfying(Rejection.class,
                r -> assertThat(r.retryAfterSeconds()).isEqualTo(1));
        assertThat(a.inFlight()).isZero();
        assertThat(a.rateLimited("enroll")).isEqualTo(2);
    }

    @Test
    void aTicketHoldsTheRouteAndTheListenerUntilReleasedOnce() {
        Admission a = admission(2, Map.of("checkin", new RouteLimitConfig(null, 0, 1, 0, 0)));
        Admission.Ticket t = a.admit("checkin");
        assertThatThrownBy(() -> a.admit("checkin")).isInstanceOfSatisfying(Rejection.class,
                r -> assertThat(r.kind()).isEqualTo(Rejection.Kind.MAX_LIMIT));
        Admission.Ticket other = a.admit(null);
        assertThatThrownBy(() -> a.admit("status")).isInstanceOfSatisfying(Rejection.class, r -> {
            assertThat(r.kind()).isEqualTo(Rejection.Kind.CAPACITY);
            assertThat(r.retryAfterSeconds()).isBetween(1L, 5L);
        });
        t.release();
        t.release();
        assertThat(a.inFlight()).isEqualTo(1);
        assertThat(a.inFlight("checkin")).isZero();
        a.admit("checkin");
        other.release();
        assertThat(a.inFlight()).isEqualTo(1);
        assertThat(a.maxLimited("checkin")).isEqualTo(1);
        assertThat(a.overCapacity()).isEqualTo(1);
    }
}
