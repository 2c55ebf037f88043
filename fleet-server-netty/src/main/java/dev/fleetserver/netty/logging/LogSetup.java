package dev.fleetserver.netty.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import co.elastic.logging.logback.EcsEncoder;
import dev.fleetserver.core.FleetVersion;
import dev.fleetserver.netty.config.LoggingConfig;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Applies {@code logging.*} to logback once the configuration is read (until then {@code logback.xml} logs text to
 * stderr at INFO): the level, text or ECS JSON ({@code logging.json}), stderr and/or a size-rotated file.
 *
 * <p>Libraries whose DEBUG output carries credentials are held at INFO whatever the level: the HTTP client logs
 * request headers ({@code Authorization: ApiKey …}, the service token) and bodies (API keys Elasticsearch returns).
 */
public final class LogSetup {
    /** The text layout; {@code logback.xml} uses the same one. The request id follows the logger name when set. */
    public static final String TEXT_PATTERN =
            "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{36}%replace( [%X{http.request.id}]){' \\[\\]', ''} - %msg%n";
    /** Loggers never opened below INFO (see the class comment). */
    static final List<String> CREDENTIAL_BEARING = List.of("org.apache.hc", "io.netty.handler.logging");
    /** logback's largest rotation window ({@link FixedWindowRollingPolicy}). */
    static final int MAX_KEPT_FILES = 20;

    private LogSetup() {
    }

    /** Replaces the root logger's appenders and level according to {@code config}. */
    public static void apply(LoggingConfig config) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        Level level = level(config.level());
        root.setLevel(level);
        Level floor = level.isGreaterOrEqual(Level.INFO) ? level : Level.INFO;
        for (String name : CREDENTIAL_BEARING) {
            context.getLogger(name).setLevel(floor);
        }
        root.detachAndStopAllAppenders();
        if (config.toStderr()) {
            ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
            console.setContext(context);
            console.setName("STDERR");
            console.setTarget("System.err");
            console.setEncoder(encoder(context, config.json()));
            console.start();
            root.addAppender(console);
        }
        if (config.toFiles()) {
            root.addAppender(file(context, config));
        }
    }

    /** logback's level for one of {@link LoggingConfig#LEVELS}. */
    static Level level(String level) {
        return switch (level) {
            case "trace" -> Level.TRACE;
            case "debug" -> Level.DEBUG;
            case "warning" -> Level.WARN;
            case "error" -> Level.ERROR;
            default -> Level.INFO;
        };
    }

    /** A started encoder: ECS JSON, one object per line, or the text layout. */
    public static Encoder<ILoggingEvent> encoder(LoggerContext context, boolean json) {
        if (json) {
            EcsEncoder ecs = new EcsEncoder();
            ecs.setContext(context);
            ecs.setServiceName("fleet-server");
            ecs.setServiceVersion(FleetVersion.VERSION);
            ecs.setEventDataset("fleet-server");
            ecs.start();
            return ecs;
        }
        PatternLayoutEncoder text = new PatternLayoutEncoder();
        text.setContext(context);
        text.setPattern(TEXT_PATTERN);
        text.start();
        return text;
    }

    private static RollingFileAppender<ILoggingEvent> file(LoggerContext context, LoggingConfig config) {
        String name = config.filesName().contains(".") ? config.filesName()
                : config.filesName() + (config.json() ? ".ndjson" : ".log");
        Path dir = config.filesPath() != null ? config.filesPath() : Path.of("");
        String file = dir.resolve(name).toString();
        RollingFileAppender<ILoggingEvent> appender = new RollingFileAppender<>();
        appender.setContext(context);
        appender.setName("FILE");
        appender.setFile(file);
        FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
        rolling.setContext(context);
        rolling.setParent(appender);
        rolling.setFileNamePattern(file + ".%i");
        rolling.setMinIndex(1);
        rolling.setMaxIndex(Math.min(config.keepFiles(), MAX_KEPT_FILES));
        rolling.start();
        SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
        trigger.setContext(context);
        trigger.setMaxFileSize(new FileSize(config.rotateEveryBytes()));
        trigger.start();
        appender.setRollingPolicy(rolling);
        appender.setTriggeringPolicy(trigger);
        appender.setEncoder(encoder(context, config.json()));
        appender.start();
        return appender;
    }
}
