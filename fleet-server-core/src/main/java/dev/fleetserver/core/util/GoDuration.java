package dev.fleetserver.core.util;

import java.time.Duration;

/**
 * Parses and formats durations the way Go's {@code time.ParseDuration} does ({@code "1h30m"}, {@code "300ms"},
 * {@code "-1.5h"}, {@code "0"}), because agents and {@code fleet-server.yml} use that syntax.
 */
public final class GoDuration {
    private GoDuration() {
    }

    /**
     * @throws IllegalArgumentException with Go's wording ({@code time: invalid duration "x"}) on bad input
     */
    public static Duration parse(String text) {
        if (text == null) {
            throw invalid("");
        }
        String s = text;
        int i = 0;
        boolean negative = false;
        if (i < s.length() && (s.charAt(i) == '-' || s.charAt(i) == '+')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        if (s.substring(i).equals("0")) {
            return Duration.ZERO;
        }
        if (i == s.length()) {
            throw invalid(text);
        }
        java.math.BigInteger total = java.math.BigInteger.ZERO;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            String number = s.substring(start, i);
            if (number.isEmpty() || number.equals(".") || number.chars().filter(c -> c == '.').count() > 1) {
                throw invalid(text);
            }
            int unitStart = i;
            while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') {
                i++;
            }
            String unit = s.substring(unitStart, i);
            long factor = switch (unit) {
                case "ns" -> 1L;
                case "us", "µs", "μs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                case "" -> throw new IllegalArgumentException("time: missing unit in duration \"" + text + "\"");
                default -> throw new IllegalArgumentException("time: unknown unit \"" + unit + "\" in duration \"" + text + "\"");
            };
            // Exact decimal arithmetic, truncating fractions of a nanosecond, as Go does.
            total = total.add(new java.math.BigDecimal(number).multiply(java.math.BigDecimal.valueOf(factor)).toBigInteger());
        }
        java.math.BigInteger signed = negative ? total.negate() : total;
        if (signed.bitLength() > 63) {
            throw invalid(text);
        }
        return Duration.ofNanos(signed.longValueExact());
    }

    /** Formats like Go's {@code Duration.String()} for whole units: {@code 5m0s}, {@code 1h0m0s}, {@code 250ms}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        long nanos = d.toNanos();
        if (Math.abs(nanos) < 1_000_000_000L) {
            if (nanos % 1_000_000 == 0) {
                return nanos / 1_000_000 + "ms";
            }
            return nanos + "ns";
        }
        StringBuilder b = new StringBuilder();
        if (nanos < 0) {
            b.append('-');
            nanos = -nanos;
        }
        long hours = nanos / 3_600_000_000_000L;
        long minutes = nanos / 60_000_000_000L % 60;
        double seconds = (nanos % 60_000_000_000L) / 1e9;
        if (hours > 0) {
            b.append(hours).append('h');
        }
        if (hours > 0 || minutes > 0) {
            b.append(minutes).append('m');
        }
        if (seconds == Math.rint(seconds)) {
            b.append((long) seconds);
        } else {
            b.append(seconds);
        }
        return b.append('s').toString();
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException("time: invalid duration \"" + text + "\"");
    }
}
