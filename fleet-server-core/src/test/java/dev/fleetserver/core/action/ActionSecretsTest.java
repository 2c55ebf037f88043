package dev.fleetserver.core.action;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.Action;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Inline secret references in action data are replaced; the references are never sent on. */
class ActionSecretsTest {
    private final SecretStore store = ids -> CompletableFuture.completedFuture(Map.of("s1", "p@$$w0rd\\1", "s2", "token"));
    private final ActionSecrets secrets = new ActionSecrets(store);

    @Test
    void inlineReferencesAnywhereInDataAreReplacedAndTheListDropped() throws Exception {
        ObjectNode source = (ObjectNode) Json.MAPPER.readTree("{\"action_id\":\"a\",\"type\":\"INPUT_ACTION\","
                + "\"secret_references\":[{\"id\":\"s1\"},{\"id\":\"s2\"},{\"id\":\"gone\"}],"
                + "\"data\":{\"pw\":\"$co.elastic.secret{s1}\",\"list\":[\"Bearer $co.elastic.secret{s2}\"],"
                + "\"unknown\":\"$co.elastic.secret{gone}\",\"n\":3}}");
        Action resolved = secrets.resolve(List.of(new Action(new Doc(FleetIndex.ACTIONS, "d", 1, 1, source))))
                .get(5, TimeUnit.SECONDS).get(0);

        assertThat(resolved.field("data")).isEqualTo(Json.MAPPER.readTree("{\"pw\":\"p@$$w0rd\\\\1\","
                + "\"list\":[\"Bearer token\"],\"unknown\":\"$co.elastic.secret{gone}\",\"n\":3}"));
        assertThat(resolved.doc().source().has("secret_references")).isFalse();
        assertThat(source.get("data").get("pw").asText()).as("the stored document is not changed").startsWith("$co.elastic");
    }

    @Test
    void actionsWithoutReferencesAreLeftAlone() throws Exception {
        Action plain = new Action(new Doc(FleetIndex.ACTIONS, "d", 1, 1, Json.object().put("type", "SETTINGS")));
        assertThat(secrets.resolve(List.of(plain)).get(5, TimeUnit.SECONDS).get(0)).isSameAs(plain);
    }
}
