package dev.fleetserver.core.util;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/** RFC 3339 timestamps as the original writes them. */
public final class Times {
    private Times() {
    }

    /** RFC 3339, UTC, whole seconds: {@code 2024-05-01T12:00:00Z} (what enroll returns). */
    public static String seconds(Instant instant) {
        return DateTimeFormatter.ISO_INSTANT.format(instant.truncatedTo(ChronoUnit.SECONDS));
    }

    /** RFC 3339, UTC, milliseconds: {@code 2024-05-01T12:00:00.123Z} (what Kibana writes into documents). */
    public static String millis(Instant instant) {
        Instant t = instant.truncatedTo(ChronoUnit.MILLIS);
        String s = DateTimeFormatter.ISO_INSTANT.format(t);
        // ISO_INSTANT drops a zero fraction; Kibana always writes three digits.
        return t.getNano() == 0 ? s.substring(0, s.length() - 1) + ".000Z" : s;
    }

    /** Parses RFC 3339 with any offset; {@code null} when blank or malformed. */
    public static Instant parse(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(text);
            } catch (DateTimeParseException e2) {
                return null;
            }
        }
    }
}
