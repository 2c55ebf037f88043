package dev.fleetserver.core.action;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.ManualScheduler;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Long-expired actions are deleted; recent, unexpired and expiration-less ones stay. */
class ActionGcTest {
    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

    @Test
    void actionsExpiredMoreThanThirtyDaysAgoAreDeletedAndNothingElse(@TempDir Path dir) throws Exception {
        try (SqliteDocumentStore store = SqliteDocumentStore.open(dir)) {
            put(store, "old", NOW.minus(Duration.ofDays(31)));
            put(store, "recently-expired", NOW.minus(Duration.ofDays(29)));
            put(store, "future", NOW.plus(Duration.ofDays(1)));
            store.create(FleetIndex.ACTIONS, "no-expiration", Json.object().put("action_id", "x")).get(5, TimeUnit.SECONDS);
            ActionGc gc = new ActionGc(new dev.fleetserver.core.model.FleetRepository(store), Clock.fixed(NOW, ZoneOffset.UTC), new ManualScheduler(), Duration.ofHours(1),
                    Duration.ofDays(30));

            assertThat(gc.runOnce().get(10, TimeUnit.SECONDS)).isEqualTo(1);

            assertThat(store.search(FleetIndex.ACTIONS, Query.where()).get(5, TimeUnit.SECONDS))
                    .extracting(d -> d.id()).containsExactlyInAnyOrder("recently-expired", "future", "no-expiration");
        }
    }

    private static void put(SqliteDocumentStore store, String id, Instant expiration) throws Exception {
        store.create(FleetIndex.ACTIONS, id, Json.object().put("action_id", id).put("expiration", expiration.toString()))
                .get(5, TimeUnit.SECONDS);
    }
}
