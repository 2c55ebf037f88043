package dev.fleetserver.netty.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
    private long now = 1_000_000_000L;

    @Test
    void aFullBucketServesItsBurstThenOneTokenPerInterval() {
        TokenBucket b = new TokenBucket(TimeUnit.MILLISECONDS.toNanos(100), 3, () -> now);
        assertThat(b.tryTake()).isZero();
        assertThat(b.tryTake()).isZero();
        assertThat(b.tryTake()).isZero();
        assertThat(b.tryTake()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
        now += TimeUnit.MILLISECONDS.toNanos(40);
        assertThat(b.tryTake()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(60));
        now += TimeUnit.MILLISECONDS.toNanos(60);
        assertThat(b.tryTake()).isZero();
        assertThat(b.tryTake()).isPositive();
    }

    @Test
    void anUnusedBucketRefillsOnlyUpToItsBurst() {
        TokenBucket b = new TokenBucket(TimeUnit.MILLISECONDS.toNanos(10), 2, () -> now);
        now += TimeUnit.HOURS.toNanos(1);
        assertThat(b.tryTake()).isZero();
        assertThat(b.tryTake()).isZero();
        assertThat(b.tryTake()).isPositive();
    }

    @Test
    void aZeroIntervalIsUnlimitedAndABurstBelowOneActsAsOne() {
        TokenBucket unlimited = new TokenBucket(0, 0, () -> now);
        for (int i = 0; i < 10_000; i++) {
            assertThat(unlimited.tryTake()).isZero();
        }
        TokenBucket one = new TokenBucket(TimeUnit.SECONDS.toNanos(1), 0, () -> now);
        assertThat(one.tryTake()).isZero();
        assertThat(one.tryTake()).isEqualTo(TimeUnit.SECONDS.toNanos(1));
    }

    @Test
    void concurrentTakersNeverGetMoreThanTheBurst() throws Exception {
        TokenBucket b = new TokenBucket(TimeUnit.HOURS.toNanos(1), 1000, () -> now);
        java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 1000; i++) {
                    if (b.tryTake() == 0) {
                        taken.incrementAndGet();
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(taken.get()).isEqualTo(1000);
    }
}
