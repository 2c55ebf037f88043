package dev.fleetserver.netty.config;

import java.time.Duration;

/**
 * Limits of one route, from {@code inputs[0].server.limits.<route>_limit.*}, as written in the file. Zero (or a
 * null interval) means "not set here": like the original, whoever applies limits fills unset fields from the
 * limit profile chosen by {@code max_agents}.
 *
 * @param interval            token-bucket period ({@code 5ms} = 200 requests/s), null when not set
 * @param burst               token-bucket size
 * @param max                 requests in flight on the route at once
 * @param maxBodyByteSize     largest request body as received
 * @param maxBodyDecompressed largest request body after gzip decoding
 */
public record RouteLimitConfig(
        Duration interval, long burst, long max, long maxBodyByteSize, long maxBodyDecompressed) {

    /** Nothing set. */
    public static final RouteLimitConfig UNSET = new RouteLimitConfig(null, 0, 0, 0, 0);

    public RouteLimitConfig {
        if (interval != null && interval.isNegative()) {
            throw new IllegalArgumentException("interval must not be negative: " + interval);
        }
        if (burst < 0 || max < 0 || maxBodyByteSize < 0 || maxBodyDecompressed < 0) {
            throw new IllegalArgumentException("limits must not be negative");
        }
    }

    /** Whether no field is set. */
    public boolean isUnset() {
        return equals(UNSET);
    }

    static RouteLimitConfig read(Section s) {
        RouteLimitConfig config = new RouteLimitConfig(
                s.optionalDuration("interval"),
                s.longValue("burst", 0, 0, Long.MAX_VALUE),
                s.longValue("max", 0, 0, Long.MAX_VALUE),
                s.longValue("max_body_byte_size", 0, 0, Long.MAX_VALUE),
                s.longValue("max_body_decompressed", 0, 0, Long.MAX_VALUE));
        s.finish();
        return config;
    }
}
