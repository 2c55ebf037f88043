package dev.fleetserver.netty.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Server timeouts, from {@code inputs[0].server.timeouts.*}; every value is zero or more.
 *
 * @param read             a request's first bytes (a TLS handshake's, on a new TLS connection) to the end of its
 *                         body; 408 after it; default 60s
 * @param readHeader       a request's first bytes to the end of its head; the connection is closed after it (a
 *                         connection that sends nothing is closed by {@code idle}); default 5s
 * @param write            from an answer's first byte until it has all been handed to the socket (never while a
 *                         checkin is parked); the connection is closed after it; default 10m
 * @param idle             keep-alive between two requests on one connection; default 35s
 * @param checkinLongPoll  how long a checkin is parked when the agent sends no {@code poll_timeout}; default 5m
 * @param checkinJitter    upper bound of the random time subtracted from the long poll, zero disables; default 30s
 * @param checkinTimestamp how often a parked checkin refreshes the agent's {@code last_checkin}; default 30s
 * @param checkinMaxPoll   cap for the long poll an agent may ask for; default 1h
 * @param drain            how long a graceful stop waits for requests in flight before closing their
 *                         connections; default 10s
 */
public record TimeoutsConfig(
        Duration read,
        Duration readHeader,
        Duration write,
        Duration idle,
        Duration checkinLongPoll,
        Duration checkinJitter,
        Duration checkinTimestamp,
        Duration checkinMaxPoll,
        Duration drain) {

    public TimeoutsConfig {
        Objects.requireNonNull(read, "read");
        Objects.requireNonNull(readHeader, "readHeader");
        Objects.requireNonNull(write, "write");
        Objects.requireNonNull(idle, "idle");
        Objects.requireNonNull(checkinLongPoll, "checkinLongPoll");
        Objects.requireNonNull(checkinJitter, "checkinJitter");
        Objects.requireNonNull(checkinTimestamp, "checkinTimestamp");
        Objects.requireNonNull(checkinMaxPoll, "checkinMaxPoll");
        Objects.requireNonNull(drain, "drain");
    }

    /** The original's code defaults (not its reference file's, which says {@code idle: 30s}). */
    /** A copy with other connection timeouts (the checkin and drain ones kept). */
    public TimeoutsConfig withConnectionTimeouts(Duration readHeader, Duration read, Duration write, Duration idle) {
        return new TimeoutsConfig(read, readHeader, write, idle, checkinLongPoll, checkinJitter, checkinTimestamp,
                checkinMaxPoll, drain);
    }

    public static TimeoutsConfig defaults() {
        return read(Section.empty());
    }

    static TimeoutsConfig read(Section s) {
        TimeoutsConfig config = new TimeoutsConfig(
                s.duration("read", Duration.ofSeconds(60)),
                s.duration("read_header", Duration.ofSeconds(5)),
                s.duration("write", Duration.ofMinutes(10)),
                s.duration("idle", Duration.ofSeconds(35)),
                s.duration("checkin_long_poll", Duration.ofMinutes(5)),
                s.duration("checkin_jitter", Duration.ofSeconds(30)),
                s.duration("checkin_timestamp", Duration.ofSeconds(30)),
                s.duration("checkin_max_poll", Duration.ofHours(1)),
                s.duration("drain", Duration.ofSeconds(10)));
        s.finish();
        return config;
    }
}
