package dev.fleetserver.core.artifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.store.Query;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.DelegatingStore;
import dev.fleetserver.core.util.Json;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArtifactServiceTest {
    @TempDir
    Path dir;
    SqliteDocumentStore sqlite;
    GatedStore store;

    @BeforeEach
    void open() {
        sqlite = SqliteDocumentStore.open(dir);
        store = new GatedStore(sqlite);
    }

    @AfterEach
    void close() {
        sqlite.close();
    }

    private ArtifactService service(long maxBytes) {
        return new ArtifactService(null, null, new dev.fleetserver.core.model.FleetRepository(store), new ArtifactCacheSettings(maxBytes, Duration.ofHours(1)));
    }

    /** Stores an artifact of {@code size} pseudo-random bytes through the admin service; returns its decoded SHA-256. */
    private String put(ArtifactService artifacts, String identifier, int size) throws Exception {
        byte[] decoded = new byte[size];
        new java.util.Random(identifier.hashCode()).nextBytes(decoded);
        ObjectNode body = ArtifactFixtures.zlibArtifact(identifier, decoded);
        new ArtifactAdminService(new dev.fleetserver.core.model.FleetRepository(store), artifacts, Clock.systemUTC()).put(identifier, body).get(5, TimeUnit.SECONDS);
        return body.get("decoded_sha256").asText();
    }

    @Test
    void concurrentRequestsForAnUncachedArtifactShareOneStoreReadAndOneBuffer() throws Exception {
        ArtifactService artifacts = service(10_000_000);
        String sha = put(artifacts, "endpoint-exceptionlist-linux-v1", 100_000);
        store.gate = new CompletableFuture<>();

        List<CompletableFuture<Artifact>> waiting = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            waiting.add(artifacts.artifact("endpoint-exceptionlist-linux-v1", sha));
        }
        assertThat(waiting).noneMatch(CompletableFuture::isDone);
        store.gate.complete(null);

        Artifact first = waiting.get(0).get(5, TimeUnit.SECONDS);
        for (CompletableFuture<Artifact> w : waiting) {
            assertThat(w.get(5, TimeUnit.SECONDS).body()).isSameAs(first.body());
        }
        assertThat(artifacts.storeReads()).isEqualTo(1);
        assertThat(store.searches.get()).isEqualTo(1);
        assertThat(first.body().isReadOnly()).isTrue();
        assertThat(first.body().isDirect()).isTrue();
        assertThat(artifacts.artifact("endpoint-exceptionlist-linux-v1", sha).get(5, TimeUnit.SECONDS).body()).isSameAs(first.body());
        assertThat(artifacts.storeReads()).isEqualTo(1);
    }

    @Test
    void theCacheNeverHoldsMoreBytesThanItsBoundAndAnOversizedArtifactIsStillServed() throws Exception {
        ArtifactService artifacts = service(10_000);
        List<String> shas = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            shas.add(put(artifacts, "list-" + i, 3_000));
        }
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 12; i++) {
                Artifact a = artifacts.artifact("list-" + i, shas.get(i)).get(5, TimeUnit.SECONDS);
                assertThat(a.size()).isGreaterThan(0);
                assertThat(artifacts.cachedBytes()).isLessThanOrEqualTo(10_000);
            }
        }
        String big = put(artifacts, "big", 50_000);
        assertThat(artifacts.artifact("big", big).get(5, TimeUnit.SECONDS).size()).isGreaterThan(10_000);
        assertThat(artifacts.cachedBytes()).isLessThanOrEqualTo(10_000);
    }

    @Test
    void aFailedReadIsNotCachedAndAnUnknownArtifactIsNotFound() throws Exception {
        ArtifactService artifacts = service(10_000_000);
        String sha = "a".repeat(64);
        assertThatThrownBy(() -> artifacts.artifact("nope", sha).get(5, TimeUnit.SECONDS))
                .hasCauseInstanceOf(FleetException.class)
                .satisfies(e -> assertThat(((FleetException) e.getCause()).error()).isEqualTo(FleetError.NOT_FOUND));
        assertThatThrownBy(() -> artifacts.artifact("nope", sha).get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(FleetException.class);
        assertThat(artifacts.storeReads()).isEqualTo(2);
    }

    @Test
    void aStoredBodyThatDoesNotMatchItsHashIsNeverServed() throws Exception {
        ArtifactService artifacts = service(10_000_000);
        byte[] decoded = "[]".getBytes(StandardCharsets.UTF_8);
        ObjectNode doc = ArtifactFixtures.zlibArtifact("tampered", decoded);
        doc.put("body", Base64.getEncoder().encodeToString("not what was hashed".getBytes(StandardCharsets.UTF_8)));
        sqlite.put(FleetIndex.ARTIFACTS, "tampered-x", doc).get(5, TimeUnit.SECONDS);
        assertThatThrownBy(() -> artifacts.artifact("tampered", doc.get("decoded_sha256").asText()).get(5, TimeUnit.SECONDS))
                .hasCauseInstanceOf(FleetException.class)
                .satisfies(e -> {
                    FleetException f = (FleetException) e.getCause();
                    assertThat(f.error()).isEqualTo(FleetError.INTERNAL);
                    assertThat(f.getMessage()).isEqualTo("mismatched sha256");
                });
    }

    @Test
    void theAdminServiceRefusesAnArtifactWhoseBodyDoesNotHashToItsEncodedSha() {
        ArtifactService artifacts = service(1000);
        ObjectNode body = ArtifactFixtures.zlibArtifact("x", new byte[] {1, 2, 3});
        body.put("encoded_sha256", "0".repeat(64));
        ArtifactAdminService admin = new ArtifactAdminService(new dev.fleetserver.core.model.FleetRepository(store), artifacts, Clock.systemUTC());
        assertThatThrownBy(() -> admin.put("x", body))
                .isInstanceOf(FleetException.class)
                .hasMessage("body does not hash to encoded_sha256");
        ObjectNode other = ArtifactFixtures.zlibArtifact("x", new byte[] {1, 2, 3});
        other.put("decoded_sha256", "0".repeat(64));
        assertThatThrownBy(() -> admin.put("x", other)).hasMessage("the decoded body does not hash to decoded_sha256");
        assertThatThrownBy(() -> admin.put("y", ArtifactFixtures.zlibArtifact("x", new byte[] {1})))
                .hasMessageContaining("differs from the path");
    }

    /** Delegates to the embedded store; searches can be held back until {@link #gate} completes, and are counted. */
    static final class GatedStore extends DelegatingStore {
        volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
        final AtomicInteger searches = new AtomicInteger();

        GatedStore(DocumentStore delegate) {
            super(delegate);
        }

        @Override
        public CompletableFuture<List<Doc>> search(String index, Query query) {
            searches.incrementAndGet();
            return gate.thenCompose(v -> delegate.search(index, query));
        }

        /** The wrapped store belongs to the test, which closes it. */
        @Override
        public void close() {
        }
    }
}
