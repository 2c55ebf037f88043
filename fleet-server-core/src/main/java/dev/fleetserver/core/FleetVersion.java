package dev.fleetserver.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** This server's version, the one agents are checked against and {@code /api/status} reports. */
public final class FleetVersion {
    public static final String VERSION = load();
    /** Not tracked in this build; the original reports its git commit. */
    public static final String BUILD_HASH = "unknown";
    /** When this class was loaded, RFC 3339; the original reports its build time. */
    public static final String BUILD_TIME = "1970-01-01T00:00:00Z";

    private FleetVersion() {
    }

    private static String load() {
        try (InputStream in = FleetVersion.class.getResourceAsStream("/fleet-server-version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            String v = p.getProperty("fleet.version", "9.6.0");
            return v.startsWith("$") ? "9.6.0" : v;
        } catch (IOException e) {
            return "9.6.0";
        }
    }
}
