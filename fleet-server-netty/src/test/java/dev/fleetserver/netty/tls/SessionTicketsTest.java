package dev.fleetserver.netty.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SessionTicketsTest {
    @TempDir
    Path dir;

    private static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-12-01T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aFirstStartMakesOneKeyAndASecondStartReadsTheSameKey() {
        Path file = dir.resolve("tls-session-tickets");
        ManualClock clock = new ManualClock();
        SessionTickets first = new SessionTickets(file, clock);
        assertThat(first.keys()).hasSize(1);
        assertThat(first.keys().get(0).bytes()).hasSize(SessionTickets.KEY_BYTES);

        SessionTickets second = new SessionTickets(file, clock);
        assertThat(second.keys()).hasSize(1);
        assertThat(second.keys().get(0).bytes()).isEqualTo(first.keys().get(0).bytes());
    }

    @Test
    void theIssuingKeyRotatesAndAnOldKeyOpensTicketsUntilItsSessionsHaveExpired() {
        Path file = dir.resolve("tls-session-tickets");
        ManualClock clock = new ManualClock();
        SessionTickets tickets = new SessionTickets(file, clock);
        byte[] original = tickets.keys().get(0).bytes();

        clock.now = clock.now.plus(SessionTickets.ROTATE_EVERY).minusSeconds(1);
        assertThat(tickets.rotateIfDue()).isFalse();
        clock.now = clock.now.plusSeconds(1);
        assertThat(tickets.rotateIfDue()).isTrue();
        List<SessionTickets.Key> keys = tickets.keys();
        assertThat(keys).hasSize(2);
        assertThat(keys.get(1).bytes()).as("the old key, still opening tickets").isEqualTo(original);
        assertThat(keys.get(0).bytes()).as("a new issuing key").isNotEqualTo(original);

        // The last ticket of the old key was issued at its rotation; it must open until that session expires.
        clock.now = clock.now.plus(SessionTickets.SESSION_LIFETIME).minusSeconds(1);
        tickets.rotateIfDue();
        assertThat(tickets.keys()).extracting(SessionTickets.Key::bytes).contains(original);
        clock.now = clock.now.plus(Duration.ofSeconds(2));
        tickets.rotateIfDue();
        assertThat(tickets.keys()).extracting(SessionTickets.Key::bytes).doesNotContain(original);
        assertThat(new SessionTickets(file, clock).keys()).extracting(SessionTickets.Key::bytes)
                .containsExactlyElementsOf(tickets.keys().stream().map(SessionTickets.Key::bytes).toList());
    }

    @Test
    void aDamagedLineLosesOnlyItsKey() throws Exception {
        Path file = dir.resolve("tls-session-tickets");
        ManualClock clock = new ManualClock();
        SessionTickets tickets = new SessionTickets(file, clock);
        byte[] good = tickets.keys().get(0).bytes();
        Files.writeString(file, Files.readString(file) + "123 not-base64!\nnonsense\n");

        SessionTickets read = new SessionTickets(file, clock);
        assertThat(read.keys()).hasSize(1);
        assertThat(read.keys().get(0).bytes()).isEqualTo(good);
    }

    @Test
    void aDirectoryThatCannotBeWrittenKeepsTheKeysInMemory() {
        Path file = dir.resolve("missing-directory").resolve("tls-session-tickets");
        SessionTickets tickets = new SessionTickets(file, new ManualClock());
        assertThat(tickets.keys()).hasSize(1);
        assertThat(file).doesNotExist();
    }
}
