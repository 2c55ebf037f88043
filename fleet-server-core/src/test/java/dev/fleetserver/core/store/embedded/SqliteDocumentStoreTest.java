package dev.fleetserver.core.store.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.DocumentStoreContract;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.StoreException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class SqliteDocumentStoreTest extends DocumentStoreContract {
    @TempDir
    Path dataDir;

    private SqliteDocumentStore store;

    @BeforeEach
    void openStore() {
        store = SqliteDocumentStore.open(dataDir);
    }

    @AfterEach
    void closeStore() {
        store.close();
    }

    @Override
    protected DocumentStore store() {
        return store;
    }

    @Test
    void openCreatesTheDataDirectoryAndDatabaseFile() {
        Path nested = dataDir.resolve("a/b");
        SqliteDocumentStore.open(nested).close();

        assertThat(nested.resolve(SqliteDocumentStore.FILE_NAME)).isRegularFile();
    }

    @Test
    void sequenceNumbersStartAtZeroPerIndex() throws Exception {
        assertThat(await(store.create(index, "a", json("{}")))).isZero();
        assertThat(await(store.create(index, "b", json("{}")))).isEqualTo(1);
        assertThat(await(store.create(index + "-other", "a", json("{}")))).isZero();
    }

    @Test
    void dataAndSequenceNumbersSurviveCloseAndReopen() throws Exception {
        await(store.create(index, "kept", json("{v: 1}")));
        long last = await(store.create(index, "deleted", json("{v: 1}")));
        await(store.delete(index, "deleted"));
        store.close();

        store = SqliteDocumentStore.open(dataDir);

        assertThat(source(index, "kept")).isEqualTo(json("{v: 1}"));
        assertThat(await(store.get(index, "deleted"))).isEmpty();
        assertThat(await(store.checkpoint(index))).isEqualTo(last + 1);
        assertThat(await(store.create(index, "new", json("{}")))).as("never reused").isEqualTo(last + 2);
    }

    @Test
    void closeCommitsTheWritesAlreadyQueued() throws Exception {
        List<CompletableFuture<Long>> writes = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            writes.add(store.create(index, "d" + i, json("{n: " + i + "}")));
        }
        store.close();

        for (CompletableFuture<Long> write : writes) {
            assertThat(write).succeedsWithin(Duration.ofSeconds(5));
        }
        store = SqliteDocumentStore.open(dataDir);
        assertThat(await(store.count(index, Query.where()))).isEqualTo(200);
    }

    @Test
    void aClosedStoreFailsWithUnavailable() throws Exception {
        CompletableFuture<Long> parked = store.awaitCheckpointAfter(index, 100, Duration.ofMinutes(1));
        store.close();

        assertThat(failureOf(parked)).isInstanceOf(StoreException.Unavailable.class);
        assertThat(failureOf(store.get(index, "a"))).isInstanceOf(StoreException.Unavailable.class);
        assertThat(failureOf(store.search(index, Query.where()))).isInstanceOf(StoreException.Unavailable.class);
        assertThat(failureOf(store.checkpoint(index))).isInstanceOf(StoreException.Unavailable.class);
        assertThat(failureOf(store.create(index, "a", json("{}")))).isInstanceOf(StoreException.Unavailable.class);
        assertThat(failureOf(store.awaitCheckpointAfter(index, -1, Duration.ofSeconds(1))))
            .isInstanceOf(StoreException.Unavailable.class);
    }

    @Test
    void concurrentWritersGetDistinctGaplessSequenceNumbers() throws Exception {
        int threads = 8;
        int perThread = 50;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Set<Long> seqs = ConcurrentHashMap.newKeySet();
        List<CompletableFuture<Void>> done = new CopyOnWriteArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                pool.execute(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    for (int i = 0; i < perThread; i++) {
                        done.add(store.put(index, thread + "-" + i, json("{}")).thenAccept(seqs::add));
                    }
                });
            }
            start.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
            await(CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)));
        } finally {
            pool.shutdownNow();
        }

        assertThat(seqs).hasSize(threads * perThread);
        assertThat(seqs).allSatisfy(seq -> assertThat(seq).isBetween(0L, threads * perThread - 1L));
        assertThat(await(store.checkpoint(index))).isEqualTo(threads * perThread - 1L);
    }

    @Test
    void writeContinuationsNeverRunOnTheWriterThread() throws Exception {
        List<CompletableFuture<String>> threads = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            threads.add(store.create(index, "d" + i, json("{}")).thenApply(seq -> Thread.currentThread().getName()));
        }
        for (CompletableFuture<String> thread : threads) {
            assertThat(await(thread)).doesNotContain("writer");
        }
    }

    @Test
    void aWaiterForOneIndexIsNotWokenByAnother() throws Exception {
        CompletableFuture<Long> parked = store.awaitCheckpointAfter(index, -1, Duration.ofMillis(300));
        await(store.create(index + "-other", "a", json("{}")));

        assertThat(await(parked)).isEqualTo(-1);
    }

    @Test
    @Timeout(120)
    void completedWritesSurviveKillMinus9() throws Exception {
        Path crashDir = dataDir.resolve("crash");
        Path stderr = dataDir.resolve("child-stderr.txt");
        Process child = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"),
            StoreWriterProcess.class.getName(), crashDir.toString())
            .redirectError(stderr.toFile())
            .start();
        List<String> acknowledged = new CopyOnWriteArrayList<>();
        CountDownLatch enough = new CountDownLatch(25);
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    if (line.startsWith(StoreWriterProcess.PREFIX)) {
                        acknowledged.add(line.substring(StoreWriterProcess.PREFIX.length()));
                        enough.countDown();
                    }
                }
            } catch (IOException e) {
                // destroyForcibly() closes the pipe: the lines read so far are what the child acknowledged.
            }
        });
        try {
            assertThat(enough.await(60, TimeUnit.SECONDS))
                .as("child wrote 25 documents; its stderr: %s", Files.exists(stderr) ? Files.readString(stderr) : "")
                .isTrue();
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        reader.get(30, TimeUnit.SECONDS);

        try (SqliteDocumentStore reopened = SqliteDocumentStore.open(crashDir)) {
            List<String> stored = await(reopened.search(StoreWriterProcess.INDEX, Query.where()))
                .stream().map(Doc::id).toList();
            assertThat(stored).containsAll(acknowledged);
            assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(25);
        }
    }

    @Test
    void openingAnUnusableDirectoryFailsWithUnavailable() throws Exception {
        Path file = Files.writeString(dataDir.resolve("not-a-dir"), "x");

        assertThatThrownBy(() -> SqliteDocumentStore.open(file)).isInstanceOf(StoreException.Unavailable.class);
    }
}
