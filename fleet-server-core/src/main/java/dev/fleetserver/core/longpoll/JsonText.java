package dev.fleetserver.core.longpoll;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;

/** Escaping for strings spliced between prebuilt JSON segments. */
public final class JsonText {
    private JsonText() {
    }

    /** UTF-8 bytes of {@code s} escaped for use inside a JSON string (without the quotes). */
    public static byte[] escape(String s) {
        boolean plain = true;
        for (int i = 0; i < s.length() && plain; i++) {
            char c = s.charAt(i);
            plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        }
        return plain ? s.getBytes(StandardCharsets.US_ASCII) : JsonStringEncoder.getInstance().quoteAsUTF8(s);
    }
}
