package dev.fleetserver.core.auth;

import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import java.util.Locale;

/**
 * The original's User-Agent rule for enroll and checkin: {@code Elastic Agent v<version>} (any case), where the
 * version is at least 7.13 and its major.minor at most the server's (any patch).
 */
public final class UserAgentCheck {
    private static final String PREFIX = "elastic agent ";
    private final int serverMajor;
    private final int serverMinor;

    public UserAgentCheck(String serverVersion) {
        int[] v = parse(serverVersion);
        if (v == null) {
            throw new IllegalArgumentException("bad server version " + serverVersion);
        }
        this.serverMajor = v[0];
        this.serverMinor = v[1];
    }

    /**
     * @return the agent's version as {@code major.minor.patch}
     * @throws FleetException InvalidUserAgent or UnsupportedVersion
     */
    public String check(String userAgent) {
        if (userAgent == null) {
            // What the original's generated request wrapper answers for a missing required header.
            throw new FleetException(FleetError.INTERNAL, "Header parameter User-Agent is required, but not found");
        }
        String ua = userAgent.toLowerCase(Locale.ROOT);
        if (!ua.startsWith(PREFIX)) {
            throw new FleetException(FleetError.INVALID_USER_AGENT);
        }
        String rest = ua.substring(PREFIX.length());
        int dash = rest.indexOf('-');
        if (dash >= 0) {
            rest = rest.substring(0, dash);
        }
        rest = rest.trim();
        int[] v = parse(rest);
        if (v == null) {
            throw new FleetException(FleetError.INVALID_USER_AGENT);
        }
        boolean tooOld = v[0] < 7 || (v[0] == 7 && v[1] < 13);
        boolean tooNew = v[0] > serverMajor || (v[0] == serverMajor && v[1] > serverMinor);
        if (tooOld || tooNew) {
            throw new FleetException(FleetError.UNSUPPORTED_VERSION);
        }
        return v[0] + "." + v[1] + "." + v[2];
    }

    /** Parses {@code [v]major[.minor[.patch]]}; null when malformed. */
    static int[] parse(String text) {
        String s = text.startsWith("v") ? text.substring(1) : text;
        String[] parts = s.split("\\.", -1);
        if (parts.length < 1 || parts.length > 3) {
            return null;
        }
        int[] out = new int[3];
        try {
            for (int i = 0; i < parts.length; i++) {
                if (parts[i].isEmpty() || !parts[i].chars().allMatch(Character::isDigit)) {
                    return null;
                }
                out[i] = Integer.parseInt(parts[i]);
            }
        } catch (NumberFormatException e) {
            return null;
        }
        return out;
    }
}
