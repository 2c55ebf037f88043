package dev.fleetserver.netty.config;

import java.util.Map;

/**
 * Expands environment variables in string settings the way the original's go-ucfg does for the forms people use:
 * <ul>
 *   <li>{@code ${VAR}}: the variable's value; an unset variable is an error naming the setting;</li>
 *   <li>{@code ${VAR:default}}: the default when the variable is unset (the default may itself contain
 *       {@code ${...}}, and may contain colons: {@code ${ES_HOSTS:localhost:9200}});</li>
 *   <li>{@code ${VAR:?message}}: an error carrying the message when the variable is unset;</li>
 *   <li><code>$${</code>: a literal <code>${</code>.</li>
 * </ul>
 * A variable that is set to the empty string counts as set. References to other settings (which go-ucfg also
 * resolves) are not supported: such a name is looked up in the environment only.
 */
final class EnvExpander {
    private EnvExpander() {
    }

    /** @param path the setting being expanded, for error messages */
    static String expand(String value, Map<String, String> env, String path) {
        if (value.indexOf('$') < 0) {
            return value;
        }
        StringBuilder out = new StringBuilder(value.length());
        int i = 0;
        while (i < value.length()) {
            if (value.startsWith("$${", i)) {
                out.append("${");
                i += 3;
            } else if (value.startsWith("${", i)) {
                int end = matchingBrace(value, i + 2);
                if (end < 0) {
                    throw ConfigException.at(path, "unterminated \"${\" in \"" + value + "\"");
                }
                out.append(resolve(value.substring(i + 2, end), env, path));
                i = end + 1;
            } else {
                out.append(value.charAt(i++));
            }
        }
        return out.toString();
    }

    private static String resolve(String expression, Map<String, String> env, String path) {
        int colon = topLevelColon(expression);
        String name = (colon < 0 ? expression : expression.substring(0, colon)).trim();
        if (name.isEmpty()) {
            throw ConfigException.at(path, "empty variable name in \"${" + expression + "}\"");
        }
        String value = env.get(name);
        if (value != null) {
            return value;
        }
        if (colon < 0) {
            throw ConfigException.at(path, "environment variable \"" + name + "\" is not set");
        }
        String fallback = expression.substring(colon + 1);
        if (fallback.startsWith("?")) {
            String message = fallback.substring(1).trim();
            throw ConfigException.at(path, "environment variable \"" + name + "\" is not set"
                    + (message.isEmpty() ? "" : ": " + message));
        }
        return expand(fallback, env, path);
    }

    /** Index of the '}' closing a "${" whose content starts at {@code from}, or -1. */
    private static int matchingBrace(String s, int from) {
        int depth = 1;
        for (int i = from; i < s.length(); i++) {
            if (s.startsWith("${", i)) {
                depth++;
                i++;
            } else if (s.charAt(i) == '}' && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The first ':' not inside a nested "${...}", so a default may hold expressions with colons. */
    private static int topLevelColon(String expression) {
        int depth = 0;
        for (int i = 0; i < expression.length(); i++) {
            if (expression.startsWith("${", i)) {
                depth++;
                i++;
            } else if (expression.charAt(i) == '}') {
                depth--;
            } else if (expression.charAt(i) == ':' && depth == 0) {
                return i;
            }
        }
        return -1;
    }
}
