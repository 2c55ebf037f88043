package dev.fleetserver.netty.limit;

/**
 * The limits that apply to one route after merging the file's settings over the chosen profile.
 *
 * @param intervalNanos       one token per this period; 0 = no rate limit
 * @param burst               token-bucket size
 * @param max                 requests in flight on the route at once; 0 = unlimited
 * @param maxBodyByteSize     body as sent; 0 = the route table's own default
 * @param maxBodyDecompressed body after gunzip; 0 = same as {@code maxBodyByteSize} (checkin: 20 MiB)
 */
public record RouteLimit(long intervalNanos, long burst, long max, long maxBodyByteSize, long maxBodyDecompressed) {
}
