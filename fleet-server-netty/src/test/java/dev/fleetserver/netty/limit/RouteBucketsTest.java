package dev.fleetserver.netty.limit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Paths to limiter names, as the original's {@code pathToOperation}. */
class RouteBucketsTest {
    @Test
    void agentPathsMapToTheirLimitNames() {
        assertThat(RouteBuckets.of("/api/status?")).isEqualTo("status");
        assertThat(RouteBuckets.of("/api/fleet/agents/enroll?")).isEqualTo("enroll");
        assertThat(RouteBuckets.of("/api/fleet/agents/abc/checkin/")).isEqualTo("checkin");
        assertThat(RouteBuckets.of("/api/fleet/agents/abc/acks")).isEqualTo("ack");
        assertThat(RouteBuckets.of("/api/fleet/artifacts/id/sha")).isEqualTo("artifact");
        assertThat(RouteBuckets.of("/api/fleet/uploads")).isEqualTo("upload_start");
        assertThat(RouteBuckets.of("/api/fleet/uploads/u1")).isEqualTo("upload_end");
        assertThat(RouteBuckets.of("/api/fleet/uploads/u1/3")).isEqualTo("upload_chunk");
        assertThat(RouteBuckets.of("/api/fleet/file/f1?source=x")).isEqualTo("file_delivery");
        assertThat(RouteBuckets.of("/api/agents/upgrades/8.15.0/pgp-public-key")).isEqualTo("pgp_retrieval");
        assertThat(RouteBuckets.of("/api/fleet/agents/abc/audit/unenroll")).isEqualTo("audit_unenroll");
        assertThat(RouteBuckets.of("/v1/opamp")).isEqualTo("opamp");
    }

    @Test
    void otherPathsHaveNoRouteLimiter() {
        assertThat(RouteBuckets.of("/")).isNull();
        assertThat(RouteBuckets.of("/api/nothing")).isNull();
        assertThat(RouteBuckets.of("/api/fleet/agents/abc/other")).isNull();
        assertThat(RouteBuckets.of("/api/fleet/agents/abc/audit/other")).isNull();
    }
}
