package dev.fleetserver.netty.config;

import java.util.Objects;

/**
 * The metrics endpoint, from {@code http.*}. Also accepted but not implemented: {@code named_pipe.user},
 * {@code named_pipe.security_descriptor} (Windows).
 *
 * @param enabled default false
 * @param host    default {@code localhost}
 * @param port    default 5066
 */
public record HttpConfig(boolean enabled, String host, int port) {

    public HttpConfig {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535: " + port);
        }
    }

    public static HttpConfig defaults() {
        return read(Section.empty());
    }

    static HttpConfig read(Section s) {
        HttpConfig config = new HttpConfig(s.bool("enabled", false), s.string("host", "localhost"),
                s.port("port", 5066));
        s.ignoreSection("named_pipe", "user", "security_descriptor");
        s.finish();
        return config;
    }
}
