package dev.fleetserver.netty.http;

/**
 * Body size limits for one route: as sent on the wire and after decompression.
 *
 * @param raw          bytes accepted as sent ({@code max_body_byte_size})
 * @param decompressed bytes accepted after gunzip ({@code max_body_decompressed}); equals {@code raw} for routes
 *                     that take no compressed bodies
 */
public record BodyLimits(long raw, long decompressed) {
    public static final long MIB = 1024 * 1024;
    /** Checkin: 1 MiB as sent, 20 MiB decompressed (the original's defaults). */
    public static final BodyLimits CHECKIN = new BodyLimits(MIB, 20 * MIB);
    public static final BodyLimits ENROLL = new BodyLimits(512 * 1024, 512 * 1024);
    public static final BodyLimits ACKS = new BodyLimits(2 * MIB, 2 * MIB);
    /** Audit/unenroll: 1 KiB (the original's default; its body is two short strings). */
    public static final BodyLimits AUDIT_UNENROLL = new BodyLimits(1024, 1024);
    /** Everything else, including the management API (policies can be large). */
    public static final BodyLimits DEFAULT = new BodyLimits(MIB, MIB);
    public static final BodyLimits MANAGEMENT = new BodyLimits(10 * MIB, 10 * MIB);

    /** The limits of a request, known from its head (before its body arrives). */
    @FunctionalInterface
    public interface Lookup {
        BodyLimits of(io.netty.handler.codec.http.HttpRequest request);
    }
}
