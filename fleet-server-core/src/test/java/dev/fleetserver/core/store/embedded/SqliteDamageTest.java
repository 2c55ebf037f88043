package dev.fleetserver.core.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** A database file damaged under the store: the reads that meet the damage fail, and it is said once, loudly. */
class SqliteDamageTest {
    @TempDir
    Path dataDir;
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger storeLogger = (Logger) LoggerFactory.getLogger(SqliteDocumentStore.class);
    private SqliteDocumentStore store;

    @BeforeEach
    void captureLog() {
        log.start();
        storeLogger.addAppender(log);
    }

    @AfterEach
    void close() {
        storeLogger.detachAppender(log);
        if (store != null) {
            store.close();
        }
    }

    @Test
    void aDamagedPageFailsItsReadsAsUnavailableAndIsReportedOnceAtError() throws Exception {
        SqliteDocumentStore writer = SqliteDocumentStore.open(dataDir);
        writer.create("probe", "big", StoreDamage.bigDocument(200_000)).get(5, TimeUnit.SECONDS);
        writer.create("probe", "small", Json.object().put("ok", true)).get(5, TimeUnit.SECONDS);
        writer.close();
        StoreDamage.breakOverflowChains(dataDir.resolve(SqliteDocumentStore.FILE_NAME));

        store = SqliteDocumentStore.open(dataDir);
        List<String> reported = new CopyOnWriteArrayList<>();
        store.onCorruption(reported::add);
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> store.get("probe", "big").get(5, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(StoreException.Unavailable.class);
        }

        assertThat(reported).singleElement().asString().contains(SqliteDocumentStore.FILE_NAME, "malformed");
        assertThat(log.list.stream().filter(e -> e.getLevel() == Level.ERROR)).singleElement()
                .satisfies(e -> assertThat(e.getFormattedMessage()).contains("damaged", "copy a backup to"));
        // What is not in the damaged part is still served.
        assertThat(store.get("probe", "small").get(5, TimeUnit.SECONDS)).isPresent();
        // A listener that comes later still hears of it.
        List<String> late = new CopyOnWriteArrayList<>();
        store.onCorruption(late::add);
        assertThat(late).isEqualTo(reported);
    }

    @Test
    void anOrdinaryFailureIsNoCorruption() {
        assertThat(SqliteDocumentStore.isCorruption(new java.sql.SQLException("busy", null, 5))).isFalse();
        assertThat(SqliteDocumentStore.isCorruption(new RuntimeException(new java.sql.SQLException("malformed", null, 11)))).isTrue();
        assertThat(SqliteDocumentStore.isCorruption(new java.sql.SQLException("not a database", null, 26))).isTrue();
        assertThat(SqliteDocumentStore.isCorruption(new java.sql.SQLException("corrupt index", null, 779))).isTrue();
    }
}
