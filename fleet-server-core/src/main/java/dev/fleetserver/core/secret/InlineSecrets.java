package dev.fleetserver.core.secret;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The inline reference form {@code $co.elastic.secret{<id>}} that Kibana writes into policies and actions. */
public final class InlineSecrets {
    private static final Pattern INLINE = Pattern.compile("\\$co\\.elastic\\.secret\\{([^}]*)}");

    private InlineSecrets() {
    }

    /**
     * {@code text} with every reference whose value is known replaced, or {@code null} when nothing was replaced
     * (unknown references stay as they are, like the original).
     */
    public static String replace(String text, Map<String, String> values) {
        Matcher m = INLINE.matcher(text);
        StringBuilder b = new StringBuilder();
        boolean changed = false;
        while (m.find()) {
            String value = values.get(m.group(1));
            m.appendReplacement(b, Matcher.quoteReplacement(value != null ? value : m.group()));
            changed |= value != null;
        }
        if (!changed) {
            return null;
        }
        m.appendTail(b);
        return b.toString();
    }
}
