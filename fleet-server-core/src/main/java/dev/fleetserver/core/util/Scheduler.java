package dev.fleetserver.core.util;

import java.time.Duration;

/** The timer port core uses for background work (flushes, heartbeats); tests substitute a manual one. */
public interface Scheduler {

    /** Runs {@code task} once after {@code delay}. */
    Cancellable schedule(Runnable task, Duration delay);

    /** Runs {@code task} every {@code period}, first after one period. A failing run does not stop later ones. */
    Cancellable scheduleEvery(Runnable task, Duration period);

    /** A scheduled task that can be cancelled; cancelling twice is harmless. */
    interface Cancellable {
        void cancel();
    }
}
