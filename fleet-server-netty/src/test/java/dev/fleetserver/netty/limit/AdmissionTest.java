package dev.fleetserver.netty.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.RouteLimitConfig;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AdmissionTest {
    private long now;

    private Admission admission(int maxConnections, Map<String, RouteLimitConfig> routes) {
        return new Admission(ResolvedLimits.resolve(new LimitsConfig(-1, 8192, maxConnections, routes), 0), () -> now);
    }

    @Test
    void anEmptyBucketSaysHowLongUntilTheTokenItKeepsForTheCallerRoundedUpToSeconds() {
        Admission a = admission(0, Map.of("enroll", new RouteLimitConfig(Duration.ofMillis(2500), 1, 0, 0, 0)));
        a.admit("enroll").release();
        assertThatThrownBy(() -> a.admit("enroll")).isInstanceOfSatisfying(Rejection.class, r -> {
            assertThat(r.kind()).isEqualTo(Rejection.Kind.RATE_LIMIT);
            assertThat(r.retryAfterSeconds()).as("the token at 2.5 s").isEqualTo(3);
        });
        now += Duration.ofMillis(2400).toNanos();
        assertThatThrownBy(() -> a.admit("enroll")).isInstanceOfSatisfying(Rejection.class,
                r -> assertThat(r.retryAfterSeconds()).as("the token at 2.5 s is promised: the one at 5 s").isEqualTo(3));
        now += Duration.ofMillis(2700).toNanos();
        a.admit("enroll").release();
        assertThat(a.inFlight()).isZero();
        assertThat(a.rateLimited("enroll")).isEqualTo(2);
    }

    @Test
    void requestsRefusedInOneInstantComeBackInEqualCohortsOfOneSecondsRateAndAreAllAdmitted() {
        // lte20000_limits: checkin 0.5ms/4000, i.e. 2000 a second; 19 000 agents at once after a restart.
        Admission a = new Admission(ResolvedLimits.resolve(new LimitsConfig(20_000, 8192, 0, Map.of()), 0), () -> now);
        for (int i = 0; i < 4000; i++) {
            a.admit("checkin").release();
        }
        Map<Long, Integer> cohorts = new TreeMap<>();
        for (int i = 0; i < 15_000; i++) {
            long seconds = refusal(a, "checkin").retryAfterSeconds();
            cohorts.merge(seconds, 1, Integer::sum);
        }
        assertThat(cohorts).isEqualTo(Map.of(1L, 2000, 2L, 2000, 3L, 2000, 4L, 2000, 5L, 2000, 6L, 2000, 7L, 2000,
                8L, 1000));
        long start = now;
        cohorts.forEach((seconds, count) -> {
            now = start + TimeUnit.SECONDS.toNanos(seconds);
            for (int i = 0; i < count; i++) {
                a.admit("checkin").release();
            }
        });
        assertThat(a.rateLimited("checkin")).as("nobody was refused twice").isEqualTo(15_000);
    }

    @Test
    void aRushThatIsOverDelaysNobody() {
        Admission a = admission(0, Map.of("checkin", new RouteLimitConfig(Duration.ofMillis(1), 1000, 0, 0, 0)));
        for (int i = 0; i < 1000; i++) {
            a.admit("checkin").release();
        }
        for (int i = 0; i < 5000; i++) {
            refusal(a, "checkin");
        }
        assertThat(refusal(a, "checkin").retryAfterSeconds()).isEqualTo(6);
        now += TimeUnit.SECONDS.toNanos(7);
        for (int i = 0; i < 1000; i++) {
            a.admit("checkin").release();
        }
        assertThat(refusal(a, "checkin").retryAfterSeconds()).as("the next token, not the old horizon").isEqualTo(1);
    }

    @Test
    void noClientIsToldToWaitMoreThanAMinute() {
        Admission a = admission(0, Map.of("enroll", new RouteLimitConfig(Duration.ofSeconds(1), 1, 0, 0, 0)));
        a.admit("enroll").release();
        for (int k = 1; k <= 60; k++) {
            assertThat(refusal(a, "enroll").retryAfterSeconds()).isEqualTo(k);
        }
        for (int i = 0; i < 100; i++) {
            assertThat(refusal(a, "enroll").retryAfterSeconds()).isEqualTo(60);
        }
    }

    private static Rejection refusal(Admission a, String route) {
        try {
            a.admit(route).release();
        } catch (Rejection r) {
            return r;
        }
        throw new AssertionError("admitted");
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
