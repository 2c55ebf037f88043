package dev.fleetserver.netty.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigEnvExpansionTest {

    @Test
    void variablesAreExpandedInStringSettings() {
        FleetServerConfig config = load("""
                output.elasticsearch:
                  hosts: ['${ES_HOST}:${ES_PORT:9200}']
                  service_token: ${TOKEN}
                inputs: [{policy.id: 'policy-${POLICY}'}]
                """, Map.of("ES_HOST", "es01", "TOKEN", "t0k3n", "POLICY", "a"));

        assertThat(config.output().hosts()).containsExactly("es01:9200");
        assertThat(config.output().serviceToken()).isEqualTo("t0k3n");
        assertThat(config.policyId()).isEqualTo("policy-a");
    }

    @Test
    void aDefaultMayContainColonsAndOtherVariables() {
        assertThat(load("output.elasticsearch.hosts: ${HOSTS:localhost:9200}", Map.of()).output().hosts())
                .containsExactly("localhost:9200");
        assertThat(load("output.elasticsearch.hosts: ${HOSTS:${FALLBACK}}", Map.of("FALLBACK", "es:1"))
                .output().hosts()).containsExactly("es:1");
    }

    @Test
    void numbersBooleansAndDurationsMayComeFromVariables() {
        FleetServerConfig config = load("""
                inputs: [{server: {port: '${PORT:8220}', timeouts: {read: '${READ}'}}}]
                http.enabled: ${METRICS}
                """, Map.of("PORT", "9000", "READ", "1m", "METRICS", "true"));

        assertThat(config.server().port()).isEqualTo(9000);
        assertThat(config.server().timeouts().read()).hasMinutes(1);
        assertThat(config.http().enabled()).isTrue();
    }

    @Test
    void aValueFromAVariableIsValidatedLikeAWrittenOne() {
        assertThatThrownBy(() -> load("inputs: [{server: {port: '${PORT}'}}]", Map.of("PORT", "abc")))
                .hasMessage("inputs[0].server.port: expected an integer between 0 and 65535, got \"abc\"");
    }

    @Test
    void aMissingVariableWithoutDefaultFailsNamingTheSettingAndTheVariable() {
        assertThatThrownBy(() -> load("output.elasticsearch.service_token: ${FLEET_TOKEN}", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("output.elasticsearch.service_token: environment variable \"FLEET_TOKEN\" is not set");
        assertThatThrownBy(() -> load("management.token: '${MGMT:?set a management token}'", Map.of()))
                .hasMessage("management.token: environment variable \"MGMT\" is not set: set a management token");
        assertThatThrownBy(() -> load("management.token: '${MGMT'", Map.of()))
                .hasMessageStartingWith("management.token: unterminated");
    }

    @Test
    void anEmptyDefaultLeavesAnOptionalSettingUnset() {
        assertThat(load("management.token: '${MGMT:}'", Map.of()).management().token()).isNull();
    }

    @Test
    void aDoubledDollarIsALiteral() {
        assertThat(load("management.token: 'a$${B}c'", Map.of("B", "x")).management().token()).isEqualTo("a${B}c");
    }

    @Test
    void settingsThatAreNotImplementedAreNotExpanded() {
        FleetServerConfig config = load("output.elasticsearch.password: ${UNSET_PASSWORD}", Map.of());
        assertThat(config.ignoredSettings()).containsExactly("output.elasticsearch.password");
    }

    private static FleetServerConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(ConfigLoader.parseYaml(yaml), Map.of(), env);
    }
}
