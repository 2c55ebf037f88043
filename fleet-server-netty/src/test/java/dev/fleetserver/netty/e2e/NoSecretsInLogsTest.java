package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.netty.config.LoggingConfig;
import dev.fleetserver.netty.logging.LogSetup;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * At DEBUG, a whole agent life (enroll, checkin with a policy full of secrets, ack, failures with wrong keys) and the
 * management calls around it leave no credential or policy secret in any log line, text or ECS JSON.
 */
class NoSecretsInLogsTest {
    private static final String SECRET_VALUE = "stored-secret-" + UUID.randomUUID();
    private static final String INLINE_SECRET = "inline-policy-secret-" + UUID.randomUUID();
    private static final String WRONG_SECRET = "wrong-key-secret-" + UUID.randomUUID();

    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();
    private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    private final Capture capture = new Capture();
    private final List<String> secrets = new ArrayList<>(List.of(SECRET_VALUE, INLINE_SECRET, WRONG_SECRET));

    /** Every event, rendered on the logging thread (MDC included) by both layouts, exceptions included. */
    private final class Capture extends AppenderBase<ILoggingEvent> {
        final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
        final Encoder<ILoggingEvent> text = LogSetup.encoder(NoSecretsInLogsTest.this.context, false);
        final Encoder<ILoggingEvent> json = LogSetup.encoder(NoSecretsInLogsTest.this.context, true);

        @Override
        protected void append(ILoggingEvent event) {
            lines.add(new String(text.encode(event), StandardCharsets.UTF_8));
            lines.add(new String(json.encode(event), StandardCharsets.UTF_8));
        }
    }

    @BeforeEach
    void captureAtDebug() {
        LogSetup.apply(LoggingConfig.defaults().withLevel("debug"));
        capture.setContext(context);
        capture.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(capture);
    }

    @AfterEach
    void detachCapture() {
        context.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender(capture);
        LogSetup.apply(LoggingConfig.defaults());
    }

    @Test
    void noSecretIsLoggedOnTheEmbeddedStore() throws Exception {
        fleet.start();
        agentLifeWithSecrets((id, value) -> fleet.daemon().store()
                .create(FleetIndex.SECRETS, id, Json.object().put("value", value)).get(10, TimeUnit.SECONDS));
    }

    @Test
    void noSecretIsLoggedOnElasticsearch() throws Exception {
        ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();
        fleet.startOnElasticsearch(cluster);
        secrets.add(cluster.serviceToken());
        // As Kibana writes them: the service account may only read .fleet-secrets.
        agentLifeWithSecrets((id, value) -> cluster.request("PUT", "/.fleet-secrets/_doc/" + id + "?refresh=true",
                "{\"value\":\"" + value + "\"}"));
    }

    /** Writes a secret document. */
    @FunctionalInterface
    private interface SecretWriter {
        void write(String id, String value) throws Exception;
    }

    private void agentLifeWithSecrets(SecretWriter secretWriter) throws Exception {
        secrets.add(fleet.daemon().managementToken());
        String policy = "policy-" + UUID.randomUUID();
        secretWriter.write("secret-" + policy, SECRET_VALUE);
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies", """
                {"id":"%s","name":"%s","secret_references":[{"id":"secret-%s"}],
                 "outputs":{"default":{"type":"elasticsearch","hosts":["http://127.0.0.1:9200"],
                                        "password":"$co.elastic.secret{secret-%s}",
                                        "headers":{"X-Token":"%s"}}}}""".formatted(policy, policy, policy, policy, INLINE_SECRET));
        String token = E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/enrollment_api_keys",
                "{\"policy_id\":\"" + policy + "\"}").at("/item/api_key").asText();
        addKey(token);

        assertThat(fleet.agent().enroll(E2eSupport.apiKeyHeader("no-such-key", WRONG_SECRET).substring("ApiKey ".length()),
                AgentClient.enrollBody()).status()).isEqualTo(401);
        JsonNode item = fleet.agent().enroll(token);
        String id = item.get("id").asText();
        String key = item.get("access_api_key").asText();
        addKey(key);

        AgentClient.Reply first = fleet.agent().checkin(id, key, AgentClient.checkinBody("starting"));
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.body()).contains(SECRET_VALUE).contains(INLINE_SECRET);
        assertThat(fleet.agent().acks(id, key, AgentClient.ackEvents(id, "policy:" + policy + ":1")).status()).isEqualTo(200);
        String keyId = new String(Base64.getDecoder().decode(key), StandardCharsets.UTF_8).split(":", 2)[0];
        String wrongKey = Base64.getEncoder().encodeToString((keyId + ":" + WRONG_SECRET).getBytes(StandardCharsets.UTF_8));
        assertThat(fleet.agent().checkin(id, wrongKey, AgentClient.checkinBody("online")).status()).isEqualTo(401);
        assertThat(E2eSupport.managementAs(fleet.daemon(), "Bearer " + WRONG_SECRET, "GET", "/api/fleet/agents", null).status())
                .isEqualTo(401);
        assertThat(E2eSupport.management(fleet.daemon(), "GET", "/api/fleet/agents/" + id, null).status()).isEqualTo(200);
        fleet.stop();

        String all = String.join("", capture.lines);
        assertThat(all).as("the capture works: access lines at DEBUG with their request id")
                .containsPattern("POST /api/fleet/agents/[^ ]+/checkin 200")
                .contains("\"http.request.id\"");
        for (String secret : secrets) {
            // Report the offending lines with the secret masked, never the secret itself.
            assertThat(capture.lines.stream().filter(l -> l.contains(secret)).limit(3)
                    .map(l -> l.replace(secret, "<SECRET>")).toList()).as("log lines holding a secret").isEmpty();
        }
    }

    /** An {@code id:secret} credential in base64: the whole value and its secret half are both secrets. */
    private void addKey(String base64) {
        secrets.add(base64);
        String decoded = new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
        secrets.add(decoded.substring(decoded.indexOf(':') + 1));
    }
}
