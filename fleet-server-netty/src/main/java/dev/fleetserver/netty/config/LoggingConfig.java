package dev.fleetserver.netty.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Logging, from {@code logging.*}. The original's deprecated {@code fleet.agent.logging.level}, when set, wins
 * over {@code logging.level}, as in the original.
 *
 * <p>Also accepted but not implemented: {@code to_syslog}, {@code to_eventlog}, {@code pretty}, {@code ecs},
 * {@code selectors}, {@code event_data}, {@code metrics.*} and {@code files.*} other than {@code files.path}.
 *
 * @param level     one of {@link #LEVELS}; default {@code info} ({@code warn} reads as {@code warning})
 * @param json      one JSON object per line instead of text; default false
 * @param toStderr  default true
 * @param toFiles   default false
 * @param filesPath directory for log files when {@code toFiles}, or null for the working directory
 */
public record LoggingConfig(String level, boolean json, boolean toStderr, boolean toFiles, Path filesPath) {

    /** The levels the original accepts. */
    public static final List<String> LEVELS = List.of("trace", "debug", "info", "warning", "error");

    public LoggingConfig {
        Objects.requireNonNull(level, "level");
        if (!LEVELS.contains(level)) {
            throw new IllegalArgumentException("level must be one of " + LEVELS + ": " + level);
        }
    }

    public static LoggingConfig defaults() {
        return read(Section.empty(), null);
    }

    /** @param agentLevel {@code fleet.agent.logging.level} (already validated), or null */
    static LoggingConfig read(Section s, String agentLevel) {
        String level = readLevel(s, "level", "info");
        boolean json = s.bool("json", false);
        boolean toStderr = s.bool("to_stderr", true);
        boolean toFiles = s.bool("to_files", false);
        Section files = s.section("files");
        Path filesPath = files.optionalPath("path");
        files.ignore("name", "rotateeverybytes", "keepfiles", "permissions", "interval", "rotateonstartup",
                "redirect_stderr");
        files.finish();
        s.ignore("to_syslog", "to_eventlog", "pretty", "ecs", "selectors", "event_data");
        s.ignoreSection("metrics", "enabled", "period");
        s.finish();
        return new LoggingConfig(agentLevel != null ? agentLevel : level, json, toStderr, toFiles, filesPath);
    }

    /** Reads a log level the way the original does: case-insensitive, {@code warn} as an alias. */
    static String readLevel(Section s, String key, String def) {
        String value = s.optionalString(key);
        if (value != null && value.trim().equalsIgnoreCase("warn")) {
            return "warning";
        }
        return s.choice(key, def, LEVELS);
    }
}
