package dev.fleetserver.netty;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.self.SelfMonitor;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.config.ConfigLoader;
import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.ServerConfig;
import dev.fleetserver.netty.limit.ResolvedLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Fleet Server policy's limits over the file's, applied once per revision. */
class PolicySettingsTest {
    private final List<LimitsConfig> applied = new ArrayList<>();

    /** The file's {@code inputs[0].server}: checkin max 100, enroll burst 50, a 4 GiB heap's profile. */
    private static ServerConfig file() throws Exception {
        ObjectNode root = (ObjectNode) Json.MAPPER.readTree("{\"inputs\":[{\"type\":\"fleet-server\",\"server\":{"
                + "\"host\":\"0.0.0.0\",\"port\":8220,\"limits\":{\"max_agents\":1000,"
                + "\"checkin_limit\":{\"max\":100},\"enroll_limit\":{\"burst\":50}}}}]}");
        return ConfigLoader.load(root, Map.of(), Map.of()).server();
    }

    private PolicySettings settings() throws Exception {
        ServerConfig file = file();
        return new PolicySettings(file, ResolvedLimits.resolve(file.limits(), 4L << 30), limits -> {
            applied.add(limits);
            return ResolvedLimits.resolve(limits, 4L << 30);
        });
    }

    private static SelfMonitor.Snapshot revision(long revision, String input) throws Exception {
        ObjectNode in = input == null ? null : (ObjectNode) Json.MAPPER.readTree(input);
        return new SelfMonitor.Snapshot("fs", revision, in == null ? null : "fs-input", in,
                SelfMonitor.State.HEALTHY, "Running");
    }

    @Test
    void thePolicysLimitsReplaceTheFilesFieldByFieldAndTheRestStays() throws Exception {
        PolicySettings s = settings();
        s.accept(revision(1, "{\"type\":\"fleet-server\",\"server\":{\"limits\":{\"max_connections\":500,"
                + "\"checkin_limit\":{\"max\":7,\"interval\":\"2ms\"}}}}"));
        assertThat(applied).hasSize(1);
        LimitsConfig l = applied.get(0);
        assertThat(l.maxConnections()).isEqualTo(500);
        assertThat(l.route("checkin").max()).isEqualTo(7);
        assertThat(l.route("checkin").interval()).isEqualTo(Duration.ofMillis(2));
        assertThat(l.route("enroll").burst()).isEqualTo(50);
        assertThat(l.maxAgents()).isEqualTo(1000);
    }

    @Test
    void aRevisionIsAppliedOnceAndAPolicyWithoutTheInputGoesBackToTheFile() throws Exception {
        PolicySettings s = settings();
        String input = "{\"type\":\"fleet-server\",\"server\":{\"limits\":{\"checkin_limit\":{\"max\":7}}}}";
        s.accept(revision(1, input));
        s.accept(revision(1, input));
        assertThat(applied).hasSize(1);
        s.accept(revision(2, null));
        assertThat(applied).hasSize(2);
        assertThat(applied.get(1).route("checkin").max()).isEqualTo(100);
    }

    @Test
    void invalidLimitsInThePolicyAreRefusedAndTheLimitsInForceStay() throws Exception {
        PolicySettings s = settings();
        s.accept(revision(1, "{\"type\":\"fleet-server\",\"server\":{\"limits\":{\"checkin_limit\":{\"max\":-1}}}}"));
        s.accept(revision(2, "{\"type\":\"fleet-server\",\"server\":{\"limits\":{\"chekin_limit\":{\"max\":3}}}}"));
        assertThat(applied).isEmpty();
    }

    @Test
    void settingsReadOnlyAtStartAreNamedUnlessTheyMatchTheFile() throws Exception {
        var read = dev.fleetserver.netty.config.PolicyServerSettings.read(Json.MAPPER.readTree(
                "{\"type\":\"fleet-server\",\"server\":{\"host\":\"0.0.0.0\",\"port\":8220,\"timeouts\":{\"idle\":\"1m\"},"
                        + "\"runtime\":{\"gc_percent\":50}}}"), file());
        assertThat(read.restartOnly()).containsExactly("server.timeouts");
        var moved = dev.fleetserver.netty.config.PolicyServerSettings.read(Json.MAPPER.readTree(
                "{\"type\":\"fleet-server\",\"server\":{\"port\":9000}}"), file());
        assertThat(moved.restartOnly()).containsExactly("server.port");
    }
}
