package dev.fleetserver.core.checkin;

import java.time.Duration;

/**
 * Long-poll timing, from {@code inputs[0].server.timeouts} (original defaults in {@link #defaults()}).
 *
 * @param longPoll      the poll when the agent sends no {@code poll_timeout} ({@code checkin_long_poll})
 * @param jitter        a random part of this is taken off every poll ({@code checkin_jitter}; zero disables)
 * @param maxPoll       cap for {@code poll_timeout - 2m} ({@code checkin_max_poll})
 * @param heartbeat     how often a parked agent's {@code last_checkin} is refreshed ({@code checkin_timestamp})
 * @param flushInterval how often coalesced checkin writes are flushed
 */
public record CheckinSettings(Duration longPoll, Duration jitter, Duration maxPoll, Duration heartbeat, Duration flushInterval) {
    public static CheckinSettings defaults() {
        return new CheckinSettings(Duration.ofMinutes(5), Duration.ofSeconds(30), Duration.ofHours(1),
                Duration.ofSeconds(30), Duration.ofSeconds(10));
    }
}
