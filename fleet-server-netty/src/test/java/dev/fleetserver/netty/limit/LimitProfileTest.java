package dev.fleetserver.netty.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.RouteLimitConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Profile choice and merging, as the original's {@code loadLimits} (protocol reference section 4.3). */
class LimitProfileTest {
    private static final long MIB = 1024 * 1024;

    @Test
    void maxAgentsPicksTheProfileWhoseRangeHoldsIt() {
        assertThat(LimitProfile.choose(1, 0).name()).isEqualTo("lte0500_limits");
        assertThat(LimitProfile.choose(500, 0).name()).isEqualTo("lte0500_limits");
        assertThat(LimitProfile.choose(501, 0).name()).isEqualTo("lte1000_limits");
        assertThat(LimitProfile.choose(15_000, 0).name()).isEqualTo("lte20000_limits");
        assertThat(LimitProfile.choose(1_000_000, 0).name()).isEqualTo("max_limits");
    }

    @Test
    void withoutMaxAgentsTheLargestProfileThatFitsTheHeapIsChosen() {
        assertThat(LimitProfile.choose(0, 100 * MIB)).isSameAs(LimitProfile.CODE_DEFAULTS);
        assertThat(LimitProfile.choose(0, 144 * MIB).name()).isEqualTo("lte0500_limits");
        assertThat(LimitProfile.choose(0, 256 * MIB).name()).isEqualTo("lte2500_limits");
        assertThat(LimitProfile.choose(0, 1024 * MIB).name()).isEqualTo("lte20000_limits");
        assertThat(LimitProfile.choose(0, 4096 * MIB).name()).isEqualTo("max_limits");
    }

    @Test
    void aProfileNeedsABaseHeapPlusABudgetPerCheckinItAdmits() {
        assertThat(LimitProfile.choose(500, 0).heapNeededBytes()).isEqualTo(128 * MIB + 500 * 32 * 1024L);
        assertThat(LimitProfile.choose(50_000, 0).heapNeededBytes()).isEqualTo(128 * MIB + 80_000 * 32 * 1024L);
    }

    @Test
    void aNegativeMaxAgentsMeansTheCodeDefaults() {
        assertThat(LimitProfile.choose(-1, 64 * 1024 * MIB)).isSameAs(LimitProfile.CODE_DEFAULTS);
    }

    @Test
    void theProfilesCarryTheOriginalsNumbers() {
        LimitProfile p = LimitProfile.choose(20_000, 0);
        assertThat(p.maxConnections()).isEqualTo(42_000);
        assertThat(p.rate("checkin")).isEqualTo(new LimitProfile.Rate(500_000, 4000, 20_000));
        assertThat(p.rate("upload_start")).isEqualTo(new LimitProfile.Rate(2_000_000_000L, 40, 80));
        assertThat(LimitProfile.CODE_DEFAULTS.rate("enroll")).isEqualTo(new LimitProfile.Rate(10_000_000, 50, 100));
        assertThat(p.rate("opamp")).isEqualTo(new LimitProfile.Rate(1_000_000, 1000, 0));
    }

    @Test
    void settingsFromTheFileWinFieldByFieldAndTheRestComesFromTheProfile() {
        LimitsConfig config = new LimitsConfig(400, 8192, 0, Map.of(
                "checkin", new RouteLimitConfig(null, 0, 7, 0, 0),
                "enroll", new RouteLimitConfig(Duration.ofSeconds(1), 3, 0, 4096, 0)));
        ResolvedLimits r = ResolvedLimits.resolve(config, 0);
        assertThat(r.profile().name()).isEqualTo("lte0500_limits");
        assertThat(r.route("checkin")).isEqualTo(new RouteLimit(5_000_000, 100, 7, MIB, 20 * MIB));
        assertThat(r.route("enroll")).isEqualTo(new RouteLimit(1_000_000_000L, 3, 20, 4096, 4096));
        assertThat(r.route("ack").maxBodyByteSize()).isEqualTo(2 * MIB);
        assertThat(r.route("status").maxBodyByteSize()).isZero();
        assertThat(r.maxConnections()).isEqualTo(1500);
        assertThat(r.connectionCap()).isEqualTo(1650);
        assertThat(r.describe()).contains("lte0500_limits", "max_agents 400");
    }

    @Test
    void anExplicitMaxConnectionsWinsAndTheTcpCapIsElevenTenthsRoundedDown() {
        ResolvedLimits r = ResolvedLimits.resolve(new LimitsConfig(-1, 8192, 2, Map.of()), 0);
        assertThat(r.maxConnections()).isEqualTo(2);
        assertThat(r.connectionCap()).isEqualTo(2);
        assertThat(ResolvedLimits.resolve(new LimitsConfig(-1, 8192, 0, Map.of()), 0).connectionCap()).isZero();
    }
}
