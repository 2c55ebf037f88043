package dev.fleetserver.netty;

import dev.fleetserver.core.self.SelfMonitor;
import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.LimitsConfig;
import dev.fleetserver.netty.config.PolicyServerSettings;
import dev.fleetserver.netty.config.ServerConfig;
import dev.fleetserver.netty.limit.ResolvedLimits;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the fleet-server input of the server's Fleet Server policy to the running server, as Elastic Agent does for
 * the original: {@code server.limits.*} over the file's limits, in force at once (see {@link FleetServer#applyLimits});
 * the other {@code server.*} settings are read from the file at start only, and a policy that sets them gets a
 * warning saying so. Fed by every heartbeat of the server's own agent; acts once per policy revision. A policy whose
 * limits are invalid is refused with a warning naming the setting, and the limits in force stay.
 */
final class PolicySettings implements Consumer<SelfMonitor.Snapshot> {
    private static final Logger LOG = LoggerFactory.getLogger(PolicySettings.class);

    private final ServerConfig file;
    private final LimitsConfig fileLimits;
    private final Function<LimitsConfig, ResolvedLimits> apply;
    private ResolvedLimits inForce;
    private String applied;

    /**
     * @param file    the file's {@code inputs[0].server}
     * @param inForce the limits the listener started with
     * @param apply   puts limits in force and says which
     */
    PolicySettings(ServerConfig file, ResolvedLimits inForce, Function<LimitsConfig, ResolvedLimits> apply) {
        this.file = file;
        this.fileLimits = file.limits();
        this.inForce = inForce;
        this.apply = apply;
    }

    @Override
    public synchronized void accept(SelfMonitor.Snapshot s) {
        String key = s.fleetServer() == null ? null : s.policyId() + ":" + s.revision();
        if (key == null ? applied == null : key.equals(applied)) {
            return;
        }
        applied = key;
        if (key == null) {
            put(fileLimits, "the configuration file (no Fleet Server policy input)");
            return;
        }
        String source = "policy " + s.policyId() + " revision " + s.revision();
        PolicyServerSettings settings;
        try {
            settings = PolicyServerSettings.read(s.fleetServer(), file);
        } catch (ConfigException e) {
            LOG.warn("{}: {}; the limits in force stay", source, e.getMessage());
            return;
        }
        put(fileLimits.overlay(settings.limits()), source);
        if (!settings.restartOnly().isEmpty()) {
            LOG.warn("{} sets {}: this server reads these from its configuration file at start only; set them in "
                    + "fleet-server.yml and restart for them to apply", source, String.join(", ", settings.restartOnly()));
        }
        if (s.fleetServer().path("server").has("runtime")) {
            LOG.info("{} sets server.runtime (settings of Go's runtime): they have no meaning for this server", source);
        }
    }

    private void put(LimitsConfig limits, String source) {
        ResolvedLimits now = apply.apply(limits);
        if (!now.equals(inForce)) {
            LOG.info("limits from {} in force: {}", source, now.describe());
        }
        inForce = now;
    }
}
