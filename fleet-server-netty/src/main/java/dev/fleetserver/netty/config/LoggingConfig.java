package dev.fleetserver.netty.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Logging, from {@code logging.*}. The original's deprecated {@code fleet.agent.logging.level}, when set, wins
 * over {@code logging.level}, as in the original.
 *
 * <p>Also accepted but not implemented: {@code to_syslog}, {@code to_eventlog}, {@code pretty}, {@code ecs}
 * ({@code json} output is always ECS), {@code selectors}, {@code event_data}, {@code metrics.*} and
 * {@code files.permissions}, {@code files.interval}, {@code files.rotateonstartup}, {@code files.redirect_stderr}.
 *
 * @param level            one of {@link #LEVELS}; default {@code info} ({@code warn} reads as {@code warning})
 * @param json             one ECS JSON object per line instead of text; default false
 * @param toStderr         default true
 * @param toFiles          default false
 * @param filesPath        directory for log files when {@code toFiles}, or null for the working directory
 * @param filesName        log file name without extension ({@code files.name}); default {@code fleet-server}
 * @param keepFiles        rotated files kept ({@code files.keepfiles}); default 7, at most 1024
 * @param rotateEveryBytes size at which the file rotates ({@code files.rotateeverybytes}); default 10 MiB
 */
public record LoggingConfig(String level, boolean json, boolean toStderr, boolean toFiles, Path filesPath,
                            String filesName, int keepFiles, long rotateEveryBytes) {

    /** The levels the original accepts. */
    public static final List<String> LEVELS = List.of("trace", "debug", "info", "warning", "error");

    public LoggingConfig {
        Objects.requireNonNull(level, "level");
        Objects.requireNonNull(filesName, "filesName");
        if (!LEVELS.contains(level)) {
            throw new IllegalArgumentException("level must be one of " + LEVELS + ": " + level);
        }
        if (keepFiles < 1 || keepFiles > 1024) {
            throw new IllegalArgumentException("keepFiles must be between 1 and 1024: " + keepFiles);
        }
        if (rotateEveryBytes < 1) {
            throw new IllegalArgumentException("rotateEveryBytes must be positive: " + rotateEveryBytes);
        }
    }

    /** The settings of {@code files.*} kept from before; for callers that only know the first five. */
    public LoggingConfig(String level, boolean json, boolean toStderr, boolean toFiles, Path filesPath) {
        this(level, json, toStderr, toFiles, filesPath, "fleet-server", 7, 10L * 1024 * 1024);
    }

    public static LoggingConfig defaults() {
        return read(Section.empty(), null);
    }

    /** A copy at another level. */
    public LoggingConfig withLevel(String newLevel) {
        return new LoggingConfig(newLevel, json, toStderr, toFiles, filesPath, filesName, keepFiles, rotateEveryBytes);
    }

    /** @param agentLevel {@code fleet.agent.logging.level} (already validated), or null */
    static LoggingConfig read(Section s, String agentLevel) {
        String level = readLevel(s, "level", "info");
        boolean json = s.bool("json", false);
        boolean toStderr = s.bool("to_stderr", true);
        boolean toFiles = s.bool("to_files", false);
        Section files = s.section("files");
        Path filesPath = files.optionalPath("path");
        String filesName = files.string("name", "fleet-server");
        int keepFiles = files.integer("keepfiles", 7, 1, 1024);
        long rotateEveryBytes = files.longValue("rotateeverybytes", 10L * 1024 * 1024, 1, Long.MAX_VALUE);
        files.ignore("permissions", "interval", "rotateonstartup", "redirect_stderr");
        files.finish();
        s.ignore("to_syslog", "to_eventlog", "pretty", "ecs", "selectors", "event_data");
        s.ignoreSection("metrics", "enabled", "period");
        s.finish();
        return new LoggingConfig(agentLevel != null ? agentLevel : level, json, toStderr, toFiles, filesPath,
                filesName, keepFiles, rotateEveryBytes);
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
