package dev.fleetserver.core.util;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.time.temporal.ChronoField;

/**
 * Timestamps as Go's {@code time.Time} reads and writes them in JSON: agents send RFC 3339 with any offset and up to
 * nine fractional digits; the original stores them back as {@code time.RFC3339Nano}, which keeps the sender's offset
 * ({@code Z} for UTC) and drops trailing zeros of the fraction ({@code 2024-01-01T12:00:00.5+02:00}).
 */
public final class GoTime {
    /** RFC 3339 exactly: seconds required, fraction optional (1–9 digits), offset {@code Z} or {@code ±hh:mm}. */
    private static final DateTimeFormatter PARSER = new DateTimeFormatterBuilder()
            .parseCaseInsensitive()
            .appendPattern("uuuu-MM-dd'T'HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 1, 9, true).optionalEnd()
            .appendOffset("+HH:MM", "Z")
            .toFormatter()
            .withResolverStyle(ResolverStyle.STRICT);
    private static final DateTimeFormatter RFC3339_NANO = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd'T'HH:mm:ss")
            .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
            .appendOffset("+HH:MM", "Z")
            .toFormatter()
            .withResolverStyle(ResolverStyle.STRICT);

    private GoTime() {
    }

    /**
     * Parses an RFC 3339 timestamp as Go's JSON decoding of {@code time.Time} accepts it.
     *
     * @throws IllegalArgumentException when {@code text} is not one, with a message saying why
     */
    public static OffsetDateTime parse(String text) {
        try {
            return OffsetDateTime.parse(text, PARSER);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("parsing time \"" + text + "\" as RFC 3339: " + e.getMessage(), e);
        }
    }

    /** {@code t} as Go's {@code time.RFC3339Nano}: the offset kept, trailing fractional zeros dropped. */
    public static String rfc3339Nano(OffsetDateTime t) {
        return RFC3339_NANO.format(t);
    }

    /** {@link #parse} then {@link #rfc3339Nano}: what the original stores for a timestamp an agent sent. */
    public static String normalise(String text) {
        return rfc3339Nano(parse(text));
    }
}
