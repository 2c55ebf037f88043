package dev.fleetserver.netty.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The browser console on the management listener, from {@code management.console.*}.
 *
 * @param enabled         default true; when false the listener serves the API only
 * @param sessionLifetime how long a sign-in lasts, from the sign-in (default {@code 8h}, at least a second)
 * @param signInMaxPause  the longest pause forced on sign-ins after repeated wrong tokens (default {@code 5m})
 */
public record ConsoleConfig(boolean enabled, Duration sessionLifetime, Duration signInMaxPause) {
    public static final Duration DEFAULT_SESSION_LIFETIME = Duration.ofHours(8);
    public static final Duration DEFAULT_SIGN_IN_MAX_PAUSE = Duration.ofMinutes(5);

    public ConsoleConfig {
        Objects.requireNonNull(sessionLifetime, "sessionLifetime");
        Objects.requireNonNull(signInMaxPause, "signInMaxPause");
    }

    public static ConsoleConfig defaults() {
        return new ConsoleConfig(true, DEFAULT_SESSION_LIFETIME, DEFAULT_SIGN_IN_MAX_PAUSE);
    }

    static ConsoleConfig read(Section s) {
        ConsoleConfig config = new ConsoleConfig(s.bool("enabled", true),
                s.duration("session_lifetime", DEFAULT_SESSION_LIFETIME),
                s.duration("sign_in_max_pause", DEFAULT_SIGN_IN_MAX_PAUSE));
        if (config.sessionLifetime.compareTo(Duration.ofSeconds(1)) < 0) {
            throw ConfigException.at("management.console.session_lifetime", "expected at least 1s, got " + config.sessionLifetime);
        }
        s.finish();
        return config;
    }
}
