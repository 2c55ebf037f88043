package dev.fleetserver.es.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The bookkeeping behind "a search sees the writes acknowledged before it": which searches wait, for which refresh,
 * and how many refreshes a crowd of searches costs. Refreshes are futures the test completes by hand; that they
 * really make documents searchable is checked against Elasticsearch in {@link UnrefreshedWritesTest}.
 */
class SearchVisibilityTest {
    private final List<String> refreshed = new CopyOnWriteArrayList<>();
    private final List<CompletableFuture<Void>> refreshes = new CopyOnWriteArrayList<>();
    private final SearchVisibility visibility = new SearchVisibility(index -> {
        refreshed.add(index);
        CompletableFuture<Void> done = new CompletableFuture<>();
        refreshes.add(done);
        return done;
    });

    @Test
    void anIndexNeverWrittenNeedsNoRefresh() {
        assertThat(visibility.awaitVisible("a")).isCompleted();
        assertThat(refreshed).isEmpty();
    }

    @Test
    void aSearchAfterAWriteWaitsForOneRefreshOfThatIndexOnly() {
        visibility.written("a");

        CompletableFuture<Void> search = visibility.awaitVisible("a");
        assertThat(refreshed).containsExactly("a");
        assertThat(search).isNotDone();
        assertThat(visibility.awaitVisible("b")).isCompleted();

        refreshes.get(0).complete(null);
        assertThat(search).isCompleted();
        assertThat(visibility.awaitVisible("a")).as("clean again").isCompleted();
        assertThat(refreshed).containsExactly("a");
    }

    @Test
    void concurrentSearchesShareOneRefresh() {
        visibility.written("a");
        visibility.written("a");

        List<CompletableFuture<Void>> searches = List.of(visibility.awaitVisible("a"), visibility.awaitVisible("a"),
                visibility.awaitVisible("a"));

        assertThat(refreshed).hasSize(1);
        refreshes.get(0).complete(null);
        assertThat(searches).allMatch(CompletableFuture::isDone);
    }

    @Test
    void aWriteAcknowledgedDuringARefreshWaitsForTheNextOneWhichLateSearchesShare() {
        visibility.written("a");
        CompletableFuture<Void> early = visibility.awaitVisible("a");
        visibility.written("a");
        CompletableFuture<Void> late = visibility.awaitVisible("a");
        CompletableFuture<Void> later = visibility.awaitVisible("a");

        assertThat(refreshed).as("one refresh in flight at a time").hasSize(1);
        refreshes.get(0).complete(null);
        assertThat(early).isCompleted();
        assertThat(late).as("the first refresh was sent before its write was acknowledged").isNotDone();
        assertThat(refreshed).as("sent as soon as the first one ended, once for both").hasSize(2);

        refreshes.get(1).complete(null);
        assertThat(late).isCompleted();
        assertThat(later).isCompleted();
        assertThat(visibility.awaitVisible("a")).isCompleted();
        assertThat(refreshed).hasSize(2);
    }

    @Test
    void aFailedRefreshFailsItsSearchesAndTheNextSearchTriesAgain() {
        visibility.written("a");
        CompletableFuture<Void> search = visibility.awaitVisible("a");

        refreshes.get(0).completeExceptionally(new IllegalStateException("503"));

        assertThat(search).isCompletedExceptionally();
        CompletableFuture<Void> retry = visibility.awaitVisible("a");
        assertThat(refreshed).hasSize(2);
        refreshes.get(1).complete(null);
        assertThat(retry).isCompleted();
    }

    @Test
    void refreshNowSendsARefreshAfterTheCallEvenOnACleanIndex() {
        CompletableFuture<Void> first = visibility.refreshNow("a");
        CompletableFuture<Void> second = visibility.refreshNow("a");

        assertThat(refreshed).hasSize(1);
        refreshes.get(0).complete(null);
        assertThat(first).isCompleted();
        assertThat(second).as("the first refresh was already running when it was asked for").isNotDone();
        assertThat(refreshed).hasSize(2);
        refreshes.get(1).complete(null);
        assertThat(second).isCompleted();
    }
}
