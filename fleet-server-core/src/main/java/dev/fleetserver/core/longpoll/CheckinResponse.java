package dev.fleetserver.core.longpoll;

import java.nio.charset.StandardCharsets;

/**
 * The JSON body of a checkin answer, as byte segments to be written back to back. Segments may be shared between
 * responses (a policy revision is serialised once for every agent) and must never be mutated.
 */
public final class CheckinResponse {
    private static final byte[] EMPTY_PREFIX = "{\"ack_token\":\"".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EMPTY_SUFFIX = "\",\"action\":\"checkin\"}".getBytes(StandardCharsets.UTF_8);
    private static final CheckinResponse EMPTY = new CheckinResponse(new byte[][] {
        "{\"ack_token\":\"\",\"action\":\"checkin\"}".getBytes(StandardCharsets.UTF_8)});

    private final byte[][] parts;
    private final boolean[] shared;

    public CheckinResponse(byte[]... parts) {
        this(parts, null);
    }

    /**
     * @param shared which parts are the same array in many answers (a policy revision's segments), or null for none:
     *               whoever encodes answers (gzip) may encode such a part once and reuse the result for every answer
     *               carrying that array
     */
    public CheckinResponse(byte[][] parts, boolean[] shared) {
        if (shared != null && shared.length != parts.length) {
            throw new IllegalArgumentException("one shared flag per part");
        }
        this.parts = parts;
        this.shared = shared;
    }

    /** Whether part {@code i} is shared between answers (see the constructor). */
    public boolean shared(int i) {
        return shared != null && shared[i];
    }

    /** The shared flags, one per part, or null when no part is shared. Callers must not mutate it. */
    public boolean[] sharedParts() {
        return shared;
    }

    /** {@code {"ack_token":"","action":"checkin"}}: nothing new for the agent. */
    public static CheckinResponse empty() {
        return EMPTY;
    }

    /**
     * {@code {"ack_token":"<token>","action":"checkin"}}: no action to deliver, but the agent is to move its ack token
     * to {@code ackToken} (past actions it is never sent).
     */
    public static CheckinResponse empty(String ackToken) {
        if (ackToken == null || ackToken.isEmpty()) {
            return EMPTY;
        }
        return new CheckinResponse(EMPTY_PREFIX, JsonText.escape(ackToken), EMPTY_SUFFIX);
    }

    public byte[][] parts() {
        return parts;
    }

    public int length() {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        return n;
    }

    /** The body as one array (tests and small responses). */
    public byte[] toBytes() {
        byte[] out = new byte[length()];
        int pos = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }

    @Override
    public String toString() {
        return new String(toBytes(), StandardCharsets.UTF_8);
    }
}
