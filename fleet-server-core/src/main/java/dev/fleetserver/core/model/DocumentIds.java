package dev.fleetserver.core.model;

import dev.fleetserver.core.error.FleetException;

/**
 * What a client-supplied value must be before it is used as (or looked up as) a document id: at most
 * {@value #MAX_BYTES} bytes of UTF-8, Elasticsearch's limit for {@code _id}, and free of control characters. Checked
 * before any store call, so that a bad id is the client's {@code 400} naming the field, never a back-end error, and
 * never fails the other writes batched with it.
 */
public final class DocumentIds {
    /** Elasticsearch refuses longer {@code _id}s. */
    public static final int MAX_BYTES = 512;

    private DocumentIds() {
    }

    /**
     * Why {@code value} is not a usable id, or null when it is (an empty value is; callers decide what empty means).
     *
     * @param field how the client knows the value, e.g. {@code action_id}; it starts the answer
     */
    public static String problem(String field, String value) {
        if (value == null) {
            return null;
        }
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                return field + " must not contain control characters";
            }
        }
        // A UTF-16 unit takes at most three bytes of UTF-8: only longer values need measuring.
        if (value.length() * 3L > MAX_BYTES && utf8Length(value) > MAX_BYTES) {
            return field + " must be at most " + MAX_BYTES + " bytes";
        }
        return null;
    }

    /** Fails with {@code 400 BadRequest} ({@code Bad request: <field> must ...}) unless {@code value} is a usable id. */
    public static String require(String field, String value) {
        String problem = problem(field, value);
        if (problem != null) {
            throw FleetException.badRequest(problem);
        }
        return value;
    }

    private static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
