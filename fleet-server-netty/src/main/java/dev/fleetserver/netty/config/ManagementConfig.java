package dev.fleetserver.netty.config;

import java.util.Objects;

/**
 * Our management listener (not in the original), from {@code management.*}; {@code --management-host} and
 * {@code --management-port} override the file.
 *
 * @param enabled default true
 * @param host    default {@code 127.0.0.1}
 * @param port    default 8221
 * @param token   bearer token the management API requires, or null
 * @param console the browser console it serves
 * @param ssl     TLS for this listener ({@code management.ssl.*}, the layout of the agent listener's {@code ssl});
 *                on when the mapping is present unless it says {@code enabled: false}
 */
public record ManagementConfig(boolean enabled, String host, int port, String token, ConsoleConfig console,
                               SslConfig ssl) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8221;

    public ManagementConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(console, "console");
        Objects.requireNonNull(ssl, "ssl");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535: " + port);
        }
    }

    /** Plain HTTP. */
    public ManagementConfig(boolean enabled, String host, int port, String token, ConsoleConfig console) {
        this(enabled, host, port, token, console, SslConfig.DISABLED);
    }

    /** Plain HTTP, with the console's defaults. */
    public ManagementConfig(boolean enabled, String host, int port, String token) {
        this(enabled, host, port, token, ConsoleConfig.defaults());
    }

    public static ManagementConfig defaults() {
        return read(Section.empty());
    }

    /** A copy listening on another host and port. */
    public ManagementConfig withAddress(String host, int port) {
        return new ManagementConfig(enabled, host, port, token, console, ssl);
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return "ManagementConfig[enabled=" + enabled + ", host=" + host + ", port=" + port
                + ", token=" + (token == null ? null : "[redacted]") + ", console=" + console + ", ssl=" + ssl + "]";
    }

    static ManagementConfig read(Section s) {
        ManagementConfig config = new ManagementConfig(s.bool("enabled", true), s.string("host", DEFAULT_HOST),
                s.port("port", DEFAULT_PORT), s.optionalString("token"), ConsoleConfig.read(s.section("console")),
                SslConfig.read(s.section("ssl"), s.has("ssl")));
        s.finish();
        return config;
    }
}
