package dev.fleetserver.netty.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.GoDuration;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One mapping of the YAML tree being read, with its full path ({@code inputs[0].server}) for messages.
 *
 * <p>Readers ask for each key they know with a typed getter (which applies the default when the key is absent or
 * null, expands environment variables and validates the value), declare the keys they accept without
 * implementing them with {@link #ignore}, and end with {@link #finish()}, which rejects every key nobody asked
 * for. Dotted keys ({@code http.enabled: true}, {@code policy.id: x}) are the same as nested mappings, as in the
 * original (go-ucfg with {@code PathSep(".")}); giving one setting both ways is an error.
 *
 * <p>Scalars are read leniently the way go-ucfg reads them: numbers and booleans may be quoted strings (so that
 * {@code port: ${PORT:8220}} works), a number given for a duration is seconds, and a string given for a list is
 * split on commas.
 */
final class Section {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final String path;
    private final Map<String, JsonNode> fields;
    private final Set<String> asked = new LinkedHashSet<>();
    private final Map<String, String> env;
    private final List<String> ignored;

    private Section(String path, Map<String, JsonNode> fields, Map<String, String> env, List<String> ignored) {
        this.path = path;
        this.fields = fields;
        this.env = env;
        this.ignored = ignored;
    }

    /**
     * The root of a configuration tree; a missing or null tree (no file, empty file) reads as all defaults.
     *
     * @param ignored receives the full path of every present setting that is accepted but not implemented
     */
    static Section root(JsonNode tree, Map<String, String> env, List<String> ignored) {
        if (tree != null && !tree.isMissingNode() && !tree.isNull() && !tree.isObject()) {
            throw new ConfigException("the configuration must be a mapping of settings, got " + describe(tree));
        }
        return new Section("", expandDottedKeys("", tree), env, ignored);
    }

    /** A section with no settings, for computing defaults. */
    static Section empty() {
        return new Section("", new LinkedHashMap<>(), Map.of(), new ArrayList<>());
    }

    String path() {
        return path;
    }

    /** Full path of a key of this section. */
    String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** Whether the key is present with a non-null value. */
    /** The keys present in this section, in order. */
    java.util.Set<String> keys() {
        return java.util.Collections.unmodifiableSet(fields.keySet());
    }

    boolean has(String key) {
        JsonNode node = fields.get(key);
        return node != null && !node.isNull();
    }

    /** The nested mapping under {@code key}; empty when absent or null. */
    Section section(String key) {
        asked.add(key);
        return child(pathOf(key), fields.get(key));
    }

    /** A mapping found elsewhere than under a key of this section (list elements), sharing env and sinks. */
    Section child(String childPath, JsonNode node) {
        if (node != null && !node.isNull() && !node.isObject()) {
            throw ConfigException.at(childPath, "expected a mapping, got " + describe(node));
        }
        return new Section(childPath, expandDottedKeys(childPath, node), env, ignored);
    }

    /** The raw node under {@code key} (null when absent), for shapes the typed getters do not cover. */
    JsonNode raw(String key) {
        asked.add(key);
        JsonNode node = fields.get(key);
        return node == null || node.isNull() ? null : node;
    }

    /** A string with environment variables expanded; {@code def} when absent. */
    String string(String key, String def) {
        String value = optionalString(key);
        return value == null ? def : value;
    }

    /** A string with environment variables expanded; null when absent, null or empty. */
    String optionalString(String key) {
        JsonNode node = raw(key);
        if (node == null) {
            return null;
        }
        String value = scalar(pathOf(key), node, "a string");
        return value.isEmpty() ? null : value;
    }

    /** A file system path; null when absent or empty. */
    Path optionalPath(String key) {
        String value = optionalString(key);
        return value == null ? null : toPath(pathOf(key), value);
    }

    /** A list of file system paths; see {@link #stringList}. */
    List<Path> pathList(String key) {
        List<Path> paths = new ArrayList<>();
        for (String value : stringList(key)) {
            paths.add(toPath(pathOf(key), value));
        }
        return paths;
    }

    private static Path toPath(String where, String value) {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw ConfigException.at(where, "invalid path " + quote(value) + ": " + e.getReason());
        }
    }

    /** A string that must be one of {@code allowed} (compared ignoring case; the allowed spelling is returned). */
    String choice(String key, String def, Collection<String> allowed) {
        String value = optionalString(key);
        if (value == null) {
            return def;
        }
        for (String candidate : allowed) {
            if (candidate.equalsIgnoreCase(value.trim())) {
                return candidate;
            }
        }
        throw ConfigException.at(pathOf(key), "expected one of " + String.join(", ", allowed)
                + ", got " + quote(value));
    }

    boolean bool(String key, boolean def) {
        JsonNode node = raw(key);
        if (node == null) {
            return def;
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        String text = scalar(pathOf(key), node, "true or false").trim().toLowerCase(Locale.ROOT);
        return switch (text) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw ConfigException.at(pathOf(key), "expected true or false, got " + describe(node, text));
        };
    }

    int integer(String key, int def, int min, int max) {
        return (int) longValue(key, def, min, max);
    }

    /** An integer or null when absent. */
    Integer optionalInteger(String key, int min, int max) {
        asked.add(key);
        return has(key) ? integer(key, 0, min, max) : null;
    }

    /** A long or null when absent. */
    Long optionalLong(String key, long min, long max) {
        asked.add(key);
        return has(key) ? longValue(key, 0, min, max) : null;
    }

    long longValue(String key, long def, long min, long max) {
        JsonNode node = raw(key);
        if (node == null) {
            return def;
        }
        String expected = expectedInteger(min, max);
        long value;
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            value = node.longValue();
        } else if (node.isTextual()) {
            String text = scalar(pathOf(key), node, expected).trim();
            try {
                value = Long.parseLong(text.startsWith("+") ? text.substring(1) : text);
            } catch (NumberFormatException e) {
                throw ConfigException.at(pathOf(key), expected + ", got " + describe(node, text));
            }
        } else {
            throw ConfigException.at(pathOf(key), expected + ", got " + describe(node));
        }
        if (value < min || value > max) {
            throw ConfigException.at(pathOf(key), expected + ", got " + value);
        }
        return value;
    }

    int port(String key, int def) {
        return integer(key, def, 0, 65535);
    }

    /** A non-negative duration in Go syntax ({@code 30s}, {@code 1h30m}); a bare number is seconds. */
    Duration duration(String key, Duration def) {
        Duration value = optionalDuration(key);
        return value == null ? def : value;
    }

    Duration optionalDuration(String key) {
        JsonNode node = raw(key);
        if (node == null) {
            return null;
        }
        String where = pathOf(key);
        Duration value;
        if (node.isNumber()) {
            value = Duration.ofNanos(Math.round(node.doubleValue() * 1e9));
        } else {
            String text = scalar(where, node, "a duration").trim();
            try {
                value = GoDuration.parse(text);
            } catch (IllegalArgumentException e) {
                throw ConfigException.at(where, "expected a duration such as \"30s\", \"5m\" or \"1h30m\", got "
                        + describe(node, text));
            }
        }
        if (value.isNegative()) {
            throw ConfigException.at(where, "expected a duration of zero or more, got " + describe(node));
        }
        return value;
    }

    /** A list of strings; a single string is split on commas. Empty when absent. */
    List<String> stringList(String key) {
        JsonNode node = raw(key);
        List<String> values = new ArrayList<>();
        if (node == null) {
            return values;
        }
        String where = pathOf(key);
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                JsonNode element = node.get(i);
                if (element.isNull()) {
                    continue;
                }
                String value = scalar(where + "[" + i + "]", element, "a string").trim();
                if (!value.isEmpty()) {
                    values.add(value);
                }
            }
        } else {
            for (String value : scalar(where, node, "a list of strings").split(",")) {
                if (!value.isBlank()) {
                    values.add(value.trim());
                }
            }
        }
        return values;
    }

    /** A mapping of strings whose keys are taken verbatim (HTTP headers may contain dots). Empty when absent. */
    Map<String, String> stringMap(String key) {
        JsonNode node = raw(key);
        Map<String, String> values = new LinkedHashMap<>();
        if (node == null) {
            return values;
        }
        String where = pathOf(key);
        if (!node.isObject()) {
            throw ConfigException.at(where, "expected a mapping, got " + describe(node));
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!field.getValue().isNull()) {
                values.put(field.getKey(), scalar(where + "." + field.getKey(), field.getValue(), "a string"));
            }
        }
        return values;
    }

    /**
     * Accepts the keys although they are not implemented: each one present is reported under its full path, with
     * whatever value (not validated, not expanded: the original may read it, we do not).
     */
    void ignore(String... keys) {
        for (String key : keys) {
            asked.add(key);
            if (has(key)) {
                ignored.add(pathOf(key));
            }
        }
    }

    /** Accepts the mapping under {@code key} as not implemented, with exactly the given child keys. */
    void ignoreSection(String key, String... childKeys) {
        Section child = section(key);
        child.ignore(childKeys);
        child.finish();
    }

    /** Accepts the key as not implemented unless its value is {@code implied} (the behaviour we have anyway). */
    void ignoreUnless(String key, String implied) {
        asked.add(key);
        JsonNode node = fields.get(key);
        if (node != null && !node.isNull() && !(node.isValueNode() && implied.equalsIgnoreCase(node.asText()))) {
            ignored.add(pathOf(key));
        }
    }

    /** Rejects the first key that no reader asked for, suggesting a known key when it looks like a typo. */
    void finish() {
        for (String key : fields.keySet()) {
            if (!asked.contains(key)) {
                String suggestion = closest(key, asked);
                throw new ConfigException("unknown setting \"" + pathOf(key) + "\""
                        + (suggestion == null ? "" : " (did you mean \"" + pathOf(suggestion) + "\"?)"));
            }
        }
    }

    private String scalar(String where, JsonNode node, String expected) {
        if (node.isTextual()) {
            return EnvExpander.expand(node.textValue(), env, where);
        }
        if (node.isValueNode() && !node.isBinary()) {
            return node.asText();
        }
        throw ConfigException.at(where, "expected " + expected + ", got " + describe(node));
    }

    private static String expectedInteger(long min, long max) {
        if (max == Long.MAX_VALUE || max == Integer.MAX_VALUE) {
            return min == Long.MIN_VALUE || min == Integer.MIN_VALUE
                    ? "expected an integer" : "expected an integer of " + min + " or more";
        }
        return "expected an integer between " + min + " and " + max;
    }

    /** Splits dotted keys into nested mappings and merges them with the nested mappings written out. */
    private static Map<String, JsonNode> expandDottedKeys(String path, JsonNode node) {
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        if (node == null || !node.isObject()) {
            return fields;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String[] parts = field.getKey().split("\\.", -1);
            JsonNode value = field.getValue();
            for (int i = parts.length - 1; i > 0; i--) {
                ObjectNode wrapper = NODES.objectNode();
                wrapper.set(parts[i], value);
                value = wrapper;
            }
            String key = parts[0];
            JsonNode existing = fields.get(key);
            String keyPath = path.isEmpty() ? key : path + "." + key;
            fields.put(key, existing == null ? value : merge(keyPath, existing, value));
        }
        return fields;
    }

    private static JsonNode merge(String path, JsonNode a, JsonNode b) {
        if (!a.isObject() || !b.isObject()) {
            throw new ConfigException("setting \"" + path + "\" is given more than once");
        }
        ObjectNode merged = ((ObjectNode) a).deepCopy();
        for (Iterator<Map.Entry<String, JsonNode>> it = b.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode existing = merged.get(field.getKey());
            merged.set(field.getKey(), existing == null
                    ? field.getValue() : merge(path + "." + field.getKey(), existing, field.getValue()));
        }
        return merged;
    }

    static String describe(JsonNode node) {
        if (node.isTextual()) {
            return quote(node.textValue());
        }
        if (node.isArray()) {
            return "a list";
        }
        if (node.isObject()) {
            return "a mapping";
        }
        return node.asText();
    }

    private static String describe(JsonNode node, String expanded) {
        return node.isTextual() ? quote(expanded) : node.asText();
    }

    static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** The known key within edit distance 2 of {@code key}, if any. */
    static String closest(String key, Collection<String> known) {
        String best = null;
        int bestDistance = 3;
        for (String candidate : known) {
            int distance = editDistance(key, candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
