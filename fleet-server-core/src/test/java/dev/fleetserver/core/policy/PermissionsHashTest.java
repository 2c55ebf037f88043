package dev.fleetserver.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.util.Json;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * {@code permissions_hash} as the original computes it: the expected bytes below are written out by hand following
 * Go's {@code json.Encoder} rules (sorted keys, compact, HTML-safe escaping, trailing newline), then hashed here
 * independently of the code under test.
 */
class PermissionsHashTest {

    @Test
    void keysAreSortedAtEveryLevelAndTheOutputIsCompactWithATrailingNewline() throws Exception {
        JsonNode perms = Json.MAPPER.readTree("""
                {"_elastic_agent_monitoring": {"indices": [{"privileges": ["auto_configure", "create_doc"],
                  "names": ["metrics-elastic_agent-default"]}]},
                 "_elastic_agent_checks": {"cluster": ["monitor"]}}""");
        String expected = "{\"_elastic_agent_checks\":{\"cluster\":[\"monitor\"]},\"_elastic_agent_monitoring\":"
                + "{\"indices\":[{\"names\":[\"metrics-elastic_agent-default\"],\"privileges\":[\"auto_configure\",\"create_doc\"]}]}}\n";
        assertThat(PermissionsHash.canonical(perms)).isEqualTo(expected);
        assertThat(PermissionsHash.of(perms)).isEqualTo(sha256(expected));
    }

    @Test
    void htmlCharactersAndControlCharactersAreEscapedLikeGo() throws Exception {
        JsonNode perms = Json.MAPPER.readTree("{\"b\":\"<logs-*> & more\\u2028\",\"a\":\"tab\\tand\\u0001\",\"Z\":\"é\"}");
        String expected = "{\"Z\":\"é\",\"a\":\"tab\\tand\\u0001\",\"b\":\"\\u003clogs-*\\u003e \\u0026 more\\u2028\"}\n";
        assertThat(PermissionsHash.canonical(perms)).isEqualTo(expected);
        assertThat(PermissionsHash.of(perms)).isEqualTo(sha256(expected));
    }

    @Test
    void numbersAndLiteralsAreWrittenAsGoWritesFloat64() throws Exception {
        JsonNode perms = Json.MAPPER.readTree("{\"n\":10,\"f\":1.5,\"big\":100000000000000000000000,\"t\":true,\"z\":null,\"e\":[]}");
        String expected = "{\"big\":1e+23,\"e\":[],\"f\":1.5,\"n\":10,\"t\":true,\"z\":null}\n";
        assertThat(PermissionsHash.canonical(perms)).isEqualTo(expected);
    }

    @Test
    void theSamePermissionsInAnotherOrderHashTheSame() throws Exception {
        JsonNode a = Json.MAPPER.readTree("{\"x\":{\"cluster\":[\"monitor\"]},\"y\":{\"indices\":[]}}");
        JsonNode b = Json.MAPPER.readTree("{\"y\":{\"indices\":[]},\"x\":{\"cluster\":[\"monitor\"]}}");
        assertThat(PermissionsHash.of(a)).isEqualTo(PermissionsHash.of(b)).hasSize(64);
    }

    private static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }
}
