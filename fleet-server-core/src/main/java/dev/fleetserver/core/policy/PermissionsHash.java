package dev.fleetserver.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;

/**
 * The {@code permissions_hash} of an output's permissions, byte-compatible with the original: SHA-256 (hex) of what
 * Go's {@code json.Encoder} writes for the decoded object — keys sorted by their bytes at every level, compact,
 * {@code <}, {@code >}, {@code &}, U+2028 and U+2029 escaped as {@code \\u00XX}, a trailing newline. Servers of both
 * kinds in one fleet then agree on when permissions changed and do not rotate keys for nothing.
 */
public final class PermissionsHash {
    private PermissionsHash() {
    }

    public static String of(JsonNode permissions) {
        try {
            byte[] canonical = canonical(permissions).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What {@code json.NewEncoder(w).Encode(v)} writes for {@code v} decoded into {@code interface{}}. */
    static String canonical(JsonNode node) {
        StringBuilder b = new StringBuilder();
        write(node, b);
        return b.append('\n').toString();
    }

    private static void write(JsonNode node, StringBuilder b) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            b.append("null");
        } else if (node.isObject()) {
            List<String> keys = new ArrayList<>();
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                keys.add(it.next());
            }
            // Go sorts map keys by their UTF-8 bytes, which for valid strings is code point order.
            keys.sort((x, y) -> compareUtf8(x, y));
            b.append('{');
            for (int i = 0; i < keys.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                string(keys.get(i), b);
                b.append(':');
                write(node.get(keys.get(i)), b);
            }
            b.append('}');
        } else if (node.isArray()) {
            b.append('[');
            for (int i = 0; i < node.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                write(node.get(i), b);
            }
            b.append(']');
        } else if (node.isTextual()) {
            string(node.textValue(), b);
        } else if (node.isBoolean()) {
            b.append(node.booleanValue());
        } else if (node.isNumber()) {
            b.append(goFloat(node.decimalValue()));
        } else {
            string(node.asText(), b);
        }
    }

    /**
     * Numbers decode to float64 in Go and are written in strconv's shortest round-trip form: plain below 1e21 (and
     * from 1e-6), {@code 1e+23}-style otherwise. JDK 17's {@code Double.toString} is not shortest, so search for it.
     */
    static String goFloat(BigDecimal value) {
        double d = value.doubleValue();
        if (d == 0) {
            return "0";
        }
        BigDecimal shortest = shortest(d);
        double abs = Math.abs(d);
        if (abs >= 1e-6 && abs < 1e21) {
            return shortest.stripTrailingZeros().toPlainString();
        }
        BigDecimal stripped = shortest.stripTrailingZeros();
        String digits = stripped.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - stripped.scale();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
                + Math.abs(exponent);
    }

    private static BigDecimal shortest(double d) {
        BigDecimal exact = new BigDecimal(d);
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal candidate = exact.round(new java.math.MathContext(precision, java.math.RoundingMode.HALF_EVEN));
            if (candidate.doubleValue() == d) {
                return candidate;
            }
        }
        return exact;
    }

    private static void string(String s, StringBuilder b) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '<', '>', '&', '\u2028', '\u2029' -> b.append(String.format("\\u%04x", (int) c));
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    private static int compareUtf8(String x, String y) {
        return java.util.Arrays.compareUnsigned(x.getBytes(StandardCharsets.UTF_8), y.getBytes(StandardCharsets.UTF_8));
    }
}
