package dev.fleetserver.netty.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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

    @Test
    void callersRefusedInOneInstantArePromisedConsecutiveTokens() {
        TokenBucket b = new TokenBucket(500_000, 4000, () -> now);
        for (int i = 0; i < 4000; i++) {
            assertThat(b.takeOrReserve()).isZero();
        }
        for (int k = 1; k <= 15_000; k++) {
            assertThat(b.takeOrReserve()).as("caller %d", k).isEqualTo(k * 500_000L);
        }
    }

    @Test
    void aHorizonInThePastDelaysNobody() {
        TokenBucket b = new TokenBucket(TimeUnit.MILLISECONDS.toNanos(100), 1, () -> now);
        assertThat(b.takeOrReserve()).isZero();
        for (int i = 0; i < 5; i++) {
            b.takeOrReserve();
        }
        now += TimeUnit.SECONDS.toNanos(10);
        assertThat(b.takeOrReserve()).isZero();
        assertThat(b.takeOrReserve()).as("only the next token is ahead").isEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
    }

    @Test
    void aBucketSmallerThanOneSecondOfItsRatePromisesAtMostItsBurstPerSecond() {
        // 100 tokens per second, but room for 10: a second's cohort coming back at once finds 10.
        TokenBucket b = new TokenBucket(TimeUnit.MILLISECONDS.toNanos(10), 10, () -> now);
        for (int i = 0; i < 10; i++) {
            assertThat(b.takeOrReserve()).isZero();
        }
        assertThat(b.takeOrReserve()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(10));
        assertThat(b.takeOrReserve()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(110));
        assertThat(b.takeOrReserve()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(210));
    }

    @Test
    void noSlotIsPromisedMoreThanAMinuteAhead() {
        TokenBucket b = new TokenBucket(TimeUnit.SECONDS.toNanos(1), 1, () -> now);
        assertThat(b.takeOrReserve()).isZero();
        for (int k = 1; k <= 60; k++) {
            assertThat(b.takeOrReserve()).isEqualTo(TimeUnit.SECONDS.toNanos(k));
        }
        for (int i = 0; i < 1000; i++) {
            assertThat(b.takeOrReserve()).isEqualTo(TokenBucket.MAX_RESERVATION_NANOS);
        }
        now += TimeUnit.SECONDS.toNanos(30);
        assertThat(b.takeOrReserve()).as("the token due by now").isZero();
        assertThat(b.takeOrReserve()).as("the slot after the last one promised, at 60 s")
                .isEqualTo(TimeUnit.SECONDS.toNanos(31));
    }

    @Test
    void anIntervalLongerThanTheCapPromisesItsNextToken() {
        TokenBucket b = new TokenBucket(TimeUnit.MINUTES.toNanos(2), 1, () -> now);
        assertThat(b.takeOrReserve()).isZero();
        assertThat(b.takeOrReserve()).isEqualTo(TimeUnit.MINUTES.toNanos(2));
        assertThat(b.takeOrReserve()).isEqualTo(TimeUnit.MINUTES.toNanos(2));
    }

    @Test
    void concurrentRefusedCallersArePromisedDistinctSlots() throws Exception {
        // One token a microsecond, room for 1000: slots one millisecond apart.
        TokenBucket b = new TokenBucket(1_000, 1000, () -> now);
        for (int i = 0; i < 1000; i++) {
            assertThat(b.takeOrReserve()).isZero();
        }
        Set<Long> slots = ConcurrentHashMap.newKeySet();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 5000; i++) {
                    slots.add(b.takeOrReserve());
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(slots).hasSize(20_000).allSatisfy(s -> assertThat(s).isBetween(1_000L, 20_000_000_000L));
    }
}
