package dev.fleetserver.netty.route;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@code Range} request header, parsed as the original does (Go's {@code net/http} rules, RFC 7233): byte ranges
 * only, suffix ranges ({@code bytes=-500}) and open ends ({@code bytes=100-}) allowed, ends past the content clamped
 * to it, ranges that start past the content dropped (all of them dropped: no overlap).
 *
 * @param start  first byte
 * @param length bytes from there
 */
record HttpRange(long start, long length) {

    /** The header cannot be served (416 with {@code Content-Range: bytes *}{@code /<size>}). */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message, null, false, false);
        }
    }

    /** {@code bytes <first>-<last>/<size>}. */
    String contentRange(long size) {
        return "bytes " + start + "-" + (start + length - 1) + "/" + size;
    }

    /** The ranges of {@code header} for content of {@code size} bytes; empty for no header. */
    static List<HttpRange> parse(String header, long size) throws Invalid {
        if (header == null || header.isEmpty()) {
            return List.of();
        }
        String prefix = "bytes=";
        if (!header.startsWith(prefix)) {
            throw new Invalid("invalid range");
        }
        List<HttpRange> ranges = new ArrayList<>();
        boolean noOverlap = false;
        for (String part : header.substring(prefix.length()).split(",", -1)) {
            String ra = trim(part);
            if (ra.isEmpty()) {
                continue;
            }
            int dash = ra.indexOf('-');
            if (dash < 0) {
                throw new Invalid("invalid range");
            }
            String start = trim(ra.substring(0, dash));
            String end = trim(ra.substring(dash + 1));
            if (start.isEmpty()) {
                // A suffix: the last <end> bytes.
                if (end.isEmpty() || end.charAt(0) == '-') {
                    throw new Invalid("invalid range");
                }
                long n = number(end);
                if (n <= 0) {
                    throw new Invalid("invalid range");
                }
                n = Math.min(n, size);
                ranges.add(new HttpRange(size - n, n));
                continue;
            }
            long first = number(start);
            if (first < 0) {
                throw new Invalid("invalid range");
            }
            if (first >= size) {
                noOverlap = true;
                continue;
            }
            long last;
            if (end.isEmpty()) {
                last = size - 1;
            } else {
                last = number(end);
                if (first > last) {
                    throw new Invalid("invalid range");
                }
                last = Math.min(last, size - 1);
            }
            ranges.add(new HttpRange(first, last - first + 1));
        }
        if (noOverlap && ranges.isEmpty()) {
            throw new Invalid("invalid range: failed to overlap");
        }
        return ranges;
    }

    /** A decimal number as Go's {@code strconv.ParseInt} takes it (sign allowed), else {@link Invalid}. */
    private static long number(String s) throws Invalid {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new Invalid("invalid range");
        }
    }

    /** Trims ASCII spaces and tabs, as {@code textproto.TrimString}. */
    private static String trim(String s) {
        int a = 0;
        int b = s.length();
        while (a < b && isSpace(s.charAt(a))) {
            a++;
        }
        while (b > a && isSpace(s.charAt(b - 1))) {
            b--;
        }
        return s.substring(a, b);
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }
}
