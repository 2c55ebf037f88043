package dev.fleetserver.core.util;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Scheduler} driven by the test: tasks run only in {@link #runDue()} or {@link #advance(Duration)}, on the
 * calling thread, against a virtual time that starts at zero. Safe to schedule into from any thread.
 */
public final class ManualScheduler implements Scheduler {
    private final List<Task> tasks = new ArrayList<>();
    private long nowNanos;
    private long scheduledCount;

    @Override
    public synchronized Cancellable schedule(Runnable task, Duration delay) {
        return add(task, delay, null);
    }

    @Override
    public synchronized Cancellable scheduleEvery(Runnable task, Duration period) {
        return add(task, period, period);
    }

    private Cancellable add(Runnable task, Duration delay, Duration period) {
        Task t = new Task(task, nowNanos + Math.max(0, delay.toNanos()), period, scheduledCount++);
        tasks.add(t);
        notifyAll();
        return () -> {
            synchronized (this) {
                t.cancelled = true;
                tasks.remove(t);
            }
        };
    }

    /** Runs every task due now (once each; tasks they schedule wait for the next call). Returns how many ran. */
    public int runDue() {
        List<Task> due;
        synchronized (this) {
            due = tasks.stream().filter(t -> t.dueNanos <= nowNanos)
                    .sorted(Comparator.comparingLong((Task t) -> t.dueNanos).thenComparingLong(t -> t.order)).toList();
            tasks.removeAll(due);
        }
        for (Task t : due) {
            if (t.cancelled) {
                continue;
            }
            try {
                t.task.run();
            } catch (RuntimeException e) {
                // like ExecutorScheduler: a failing run does not stop later ones
            }
            if (t.period != null) {
                synchronized (this) {
                    if (!t.cancelled) {
                        t.dueNanos += t.period.toNanos();
                        tasks.add(t);
                    }
                }
            }
        }
        return due.size();
    }

    /** Moves virtual time forward and runs whatever becomes due, in due order. */
    public int advance(Duration d) {
        long target;
        synchronized (this) {
            target = nowNanos + d.toNanos();
        }
        int ran = 0;
        while (true) {
            synchronized (this) {
                long next = tasks.stream().mapToLong(t -> t.dueNanos).filter(due -> due <= target).min().orElse(Long.MAX_VALUE);
                if (next == Long.MAX_VALUE) {
                    nowNanos = target;
                    return ran;
                }
                nowNanos = Math.max(nowNanos, next);
            }
            ran += runDue();
        }
    }

    /** Tasks waiting (not yet run, not cancelled). */
    public synchronized int pending() {
        return tasks.size();
    }

    /** Total tasks ever scheduled. */
    public synchronized long scheduledCount() {
        return scheduledCount;
    }

    /** Waits (bounded) until at least {@code count} tasks have ever been scheduled; false on timeout. */
    public synchronized boolean awaitScheduledCount(long count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (scheduledCount < count) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    private static final class Task {
        final Runnable task;
        final Duration period;
        final long order;
        long dueNanos;
        volatile boolean cancelled;

        Task(Runnable task, long dueNanos, Duration period, long order) {
            this.task = task;
            this.dueNanos = dueNanos;
            this.period = period;
            this.order = order;
        }
    }
}
