package dev.fleetserver.core.longpoll;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/** A {@link CheckinSink} that records what core tells it; answers can be awaited with a bound. */
public final class RecordingSink implements CheckinSink {
    public final AtomicInteger parks = new AtomicInteger();
    public final AtomicInteger responses = new AtomicInteger();
    public final AtomicInteger failures = new AtomicInteger();
    public final CompletableFuture<CheckinResponse> response = new CompletableFuture<>();
    public final CompletableFuture<Throwable> failure = new CompletableFuture<>();
    public volatile ParkedCheckin parked;
    public volatile Duration wait;

    @Override
    public void park(ParkedCheckin checkin, Duration wait) {
        parks.incrementAndGet();
        this.parked = checkin;
        this.wait = wait;
    }

    @Override
    public void respond(CheckinResponse r) {
        responses.incrementAndGet();
        response.complete(r);
    }

    @Override
    public void fail(Throwable error) {
        failures.incrementAndGet();
        failure.complete(error);
    }

    /** The body of the answer, waiting at most five seconds for it. */
    public String awaitBody() throws InterruptedException, ExecutionException, TimeoutException {
        return response.get(5, TimeUnit.SECONDS).toString();
    }

    public boolean answered() {
        return responses.get() + failures.get() > 0;
    }
}
