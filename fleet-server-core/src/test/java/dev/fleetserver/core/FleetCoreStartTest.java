package dev.fleetserver.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.store.embedded.EmbeddedApiKeys;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.ExecutorScheduler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Core's start, as the daemon drives it on a store that is not reachable yet: retried until it works. */
class FleetCoreStartTest {
    @TempDir
    Path dataDir;

    @Test
    void aStartThatFailedHalfwayCanBeRetriedWithoutStartingAnyFeedTwice() throws Exception {
        try (SqliteDocumentStore real = SqliteDocumentStore.open(dataDir);
             ExecutorScheduler scheduler = new ExecutorScheduler("test-scheduler")) {
            AtomicBoolean actionsUnreachable = new AtomicBoolean(true);
            Map<String, AtomicInteger> feedWaits = new ConcurrentHashMap<>();
            DocumentStore store = (DocumentStore) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {DocumentStore.class}, (proxy, method, args) -> {
                        if (method.getName().equals("checkpoint") && FleetIndex.ACTIONS.equals(args[0])
                                && actionsUnreachable.getAndSet(false)) {
                            return CompletableFuture.failedFuture(new StoreException.Unavailable("unreachable", null));
                        }
                        if (method.getName().equals("awaitCheckpointAfter")) {
                            feedWaits.computeIfAbsent((String) args[0], k -> new AtomicInteger()).incrementAndGet();
                        }
                        try {
                            return method.invoke(real, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            FleetCore core = new FleetCore(store, new EmbeddedApiKeys(real, Clock.systemUTC()), CoreSettings.defaults(),
                    Clock.systemUTC(), scheduler);
            try {
                assertThatThrownBy(() -> core.startUp().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
                assertThat(core.status().state()).isEqualTo(StatusService.State.STARTING);

                FleetCore.Started started = core.startUp().get(10, TimeUnit.SECONDS);

                assertThat(started.enrollmentToken()).isNotBlank();
                assertThat(started.enrollmentTokenCreated()).isTrue();
                assertThat(core.status().state()).isEqualTo(StatusService.State.HEALTHY);
                // Each feed waits on its index once: the policy feed, started by the first attempt, was not started again.
                assertThat(feedWaits.get(FleetIndex.POLICIES)).hasValue(1);
                assertThat(feedWaits.get(FleetIndex.ACTIONS)).hasValue(1);
                // A later start finds the key it made.
                FleetCore.Started again = core.startUp().get(10, TimeUnit.SECONDS);
                assertThat(again).isEqualTo(new FleetCore.Started(started.enrollmentToken(), false));
            } finally {
                core.stop().get(10, TimeUnit.SECONDS);
                core.close();
            }
        }
    }
}
