package dev.fleetserver.netty.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.config.LoggingConfig;
import dev.fleetserver.netty.metrics.HttpMetricsHandler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** {@code logging.*} applied to logback: text or ECS JSON, the request id, files, credential-bearing loggers. */
class LogSetupTest {
    private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    private final Logger logger = context.getLogger("dev.fleetserver.test");

    @TempDir
    Path dir;

    @AfterEach
    void restore() {
        LogSetup.apply(LoggingConfig.defaults());
        MDC.clear();
    }

    private String encode(boolean json, String requestId) {
        if (requestId != null) {
            MDC.put(HttpMetricsHandler.REQUEST_ID, requestId);
        }
        try {
            LoggingEvent event = new LoggingEvent(Logger.FQCN, logger, Level.INFO, "agent {} checked in", null, new Object[] {"a1"});
            return new String(LogSetup.encoder(context, json).encode(event), StandardCharsets.UTF_8);
        } finally {
            MDC.remove(HttpMetricsHandler.REQUEST_ID);
        }
    }

    @Test
    void jsonLinesAreEcsWithTheRequestId() throws Exception {
        String line = encode(true, "req-42");
        assertThat(line).endsWith("\n").doesNotContain("\n{");
        JsonNode json = Json.MAPPER.readTree(line);
        assertThat(json.get("@timestamp").asText()).isNotEmpty();
        assertThat(json.get("log.level").asText()).isEqualTo("INFO");
        assertThat(json.get("message").asText()).isEqualTo("agent a1 checked in");
        assertThat(json.get("log.logger").asText()).isEqualTo("dev.fleetserver.test");
        assertThat(json.get("service.name").asText()).isEqualTo("fleet-server");
        assertThat(json.get("ecs.version").asText()).isNotEmpty();
        assertThat(json.get("http.request.id").asText()).isEqualTo("req-42");
    }

    @Test
    void textLinesCarryTheRequestIdOnlyWhenThereIsOne() {
        assertThat(encode(false, "req-42")).contains("dev.fleetserver.test [req-42] - agent a1 checked in");
        assertThat(encode(false, null)).contains("dev.fleetserver.test - agent a1 checked in").doesNotContain("[]");
    }

    @Test
    void theLevelIsAppliedButTheHttpClientNeverLogsBelowInfo() {
        LogSetup.apply(LoggingConfig.defaults().withLevel("trace"));
        assertThat(logger.isTraceEnabled()).isTrue();
        assertThat(context.getLogger("org.apache.hc.client5.http.headers").isDebugEnabled()).isFalse();
        assertThat(context.getLogger("org.apache.hc.client5.http.wire").isInfoEnabled()).isTrue();

        LogSetup.apply(LoggingConfig.defaults().withLevel("error"));
        assertThat(logger.isWarnEnabled()).isFalse();
        assertThat(context.getLogger("org.apache.hc.client5.http.headers").isInfoEnabled()).isFalse();
    }

    @Test
    void toFilesWritesJsonLinesIntoTheConfiguredDirectory() throws Exception {
        LogSetup.apply(new LoggingConfig("info", true, false, true, dir, "fleet-server", 3, 1024 * 1024));
        logger.info("written to a file");
        Path file = dir.resolve("fleet-server.ndjson");
        assertThat(file).exists();
        JsonNode line = Json.MAPPER.readTree(Files.readAllLines(file).get(0));
        assertThat(line.get("message").asText()).isEqualTo("written to a file");
    }
}
