package dev.fleetserver.core.longpoll;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CheckinRegistryTest {
    private static final CheckinResponse ANSWER = new CheckinResponse("{\"answer\":1}".getBytes(StandardCharsets.UTF_8));

    private final CheckinRegistry registry = new CheckinRegistry();
    private final ExecutorService pool = Executors.newFixedThreadPool(4);

    @AfterEach
    void shutdown() {
        pool.shutdownNow();
    }

    private ParkedCheckin parked(String agentId, RecordingSink sink) {
        return new ParkedCheckin(agentId, "policy-1", 3, 10, "online", "", null, sink, registry);
    }

    private void assertEmpty() {
        assertThat(registry.size()).isZero();
        assertThat(registry.forPolicy("policy-1")).isEmpty();
    }

    @Test
    void aRegisteredCheckinIsFoundByAgentAndByPolicy() {
        ParkedCheckin p = parked("a1", new RecordingSink());
        registry.register(p);

        assertThat(registry.size()).isEqualTo(1);
        assertThat(registry.forAgent("a1")).isSameAs(p);
        assertThat(registry.forPolicy("policy-1")).containsExactly(p);
        assertThat(registry.forPolicy("other")).isEmpty();
        assertThat(registry.forAgent("other")).isNull();
    }

    @Test
    void completeAnswersOnceAndUnregisters() throws Exception {
        RecordingSink sink = new RecordingSink();
        ParkedCheckin p = parked("a1", sink);
        registry.register(p);

        assertThat(p.complete(ANSWER)).isTrue();
        assertThat(p.complete(ANSWER)).isFalse();
        assertThat(p.expire()).isFalse();
        p.abandon();

        assertThat(sink.awaitBody()).isEqualTo("{\"answer\":1}");
        assertThat(sink.responses.get()).isEqualTo(1);
        assertThat(p.done()).isTrue();
        assertEmpty();
    }

    @Test
    void expireAnswersWithNothingNewAndAnEmptyAckToken() throws Exception {
        RecordingSink sink = new RecordingSink();
        ParkedCheckin p = parked("a1", sink);
        registry.register(p);

        assertThat(p.expire()).isTrue();

        assertThat(sink.awaitBody()).isEqualTo("{\"ack_token\":\"\",\"action\":\"checkin\"}");
        assertEmpty();
    }

    @Test
    void anAckTokenNeedingEscapingIsEscaped() {
        assertThat(CheckinResponse.empty("we\"ird\\tok\n").toString())
                .isEqualTo("{\"ack_token\":\"we\\\"ird\\\\tok\\n\",\"action\":\"checkin\"}");
    }

    @Test
    void abandonWritesNothingAndUnregisters() {
        RecordingSink sink = new RecordingSink();
        ParkedCheckin p = parked("a1", sink);
        registry.register(p);

        p.abandon();

        assertThat(p.done()).isTrue();
        assertThat(p.complete(ANSWER)).isFalse();
        assertThat(p.expire()).isFalse();
        assertThat(p.fail(new RuntimeException())).isFalse();
        assertThat(sink.answered()).isFalse();
        assertEmpty();
    }

    @Test
    void failAnswersWithTheErrorAndUnregisters() throws Exception {
        RecordingSink sink = new RecordingSink();
        ParkedCheckin p = parked("a1", sink);
        registry.register(p);
        RuntimeException boom = new RuntimeException("store down");

        assertThat(p.fail(boom)).isTrue();

        assertThat(sink.failure.get(5, TimeUnit.SECONDS)).isSameAs(boom);
        assertThat(sink.responses.get()).isZero();
        assertEmpty();
    }

    @Test
    void aSecondCheckinOfTheSameAgentExpiresTheFirst() throws Exception {
        RecordingSink first = new RecordingSink();
        RecordingSink second = new RecordingSink();
        ParkedCheckin p1 = parked("a1", first);
        ParkedCheckin p2 = parked("a1", second);
        registry.register(p1);

        registry.register(p2);

        assertThat(first.awaitBody()).isEqualTo("{\"ack_token\":\"\",\"action\":\"checkin\"}");
        assertThat(second.answered()).isFalse();
        assertThat(registry.size()).isEqualTo(1);
        assertThat(registry.forAgent("a1")).isSameAs(p2);
        assertThat(registry.forPolicy("policy-1")).containsExactly(p2);

        p2.expire();
        assertEmpty();
    }

    @Test
    void aCheckinEndedBeforeItsRegistrationIsNotKept() {
        RecordingSink sink = new RecordingSink();
        ParkedCheckin p = parked("a1", sink);
        p.abandon();

        registry.register(p);

        assertEmpty();
        assertThat(registry.forAgent("a1")).isNull();
    }

    @Test
    void registeringTheSameCheckinTwiceDoesNotExpireIt() {
        RecordingSink sink = new RecordingSink();
        ParkedCheckin p = parked("a1", sink);
        registry.register(p);
        registry.register(p);

        assertThat(sink.answered()).isFalse();
        assertThat(registry.size()).isEqualTo(1);
    }

    @Test
    void racingEndingsAnswerExactlyOnceAndAlwaysUnregister() throws Exception {
        for (int round = 0; round < 300; round++) {
            RecordingSink sink = new RecordingSink();
            ParkedCheckin p = parked("agent-" + round, sink);
            registry.register(p);
            CountDownLatch go = new CountDownLatch(1);
            List<Callable<Boolean>> racers = List.of(
                    () -> {
                        go.await();
                        return p.expire();
                    },
                    () -> {
                        go.await();
                        return p.complete(ANSWER);
                    },
                    () -> {
                        go.await();
                        p.abandon();
                        return false;
                    },
                    () -> {
                        go.await();
                        return p.fail(new RuntimeException("x"));
                    });
            List<Future<Boolean>> results = new ArrayList<>();
            for (Callable<Boolean> r : racers) {
                results.add(pool.submit(r));
            }
            go.countDown();
            int winners = 0;
            for (Future<Boolean> f : results) {
                winners += f.get(5, TimeUnit.SECONDS) ? 1 : 0;
            }

            int written = sink.responses.get() + sink.failures.get();
            assertThat(written).as("round %d", round).isLessThanOrEqualTo(1).isEqualTo(winners);
            assertThat(p.done()).isTrue();
            assertEmpty();
        }
    }

    @Test
    void concurrentCheckinsOfOneAgentLeaveExactlyOneParked() throws Exception {
        int n = 50;
        List<RecordingSink> sinks = new ArrayList<>();
        List<ParkedCheckin> checkins = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            RecordingSink s = new RecordingSink();
            sinks.add(s);
            checkins.add(parked("a1", s));
        }
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (ParkedCheckin c : checkins) {
            done.add(pool.submit(() -> {
                go.await();
                registry.register(c);
                return null;
            }));
        }
        go.countDown();
        for (Future<?> f : done) {
            f.get(5, TimeUnit.SECONDS);
        }

        assertThat(sinks.stream().filter(RecordingSink::answered).count()).isEqualTo(n - 1);
        ParkedCheckin survivor = registry.forAgent("a1");
        assertThat(survivor).isNotNull();
        assertThat(survivor.done()).isFalse();
        assertThat(registry.size()).isEqualTo(1);
        assertThat(registry.forPolicy("policy-1")).containsExactly(survivor);

        survivor.expire();
        assertEmpty();
    }

    @Test
    void wakingEveryParkedCheckinWhileTheyEndIsSafe() throws Exception {
        List<RecordingSink> sinks = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            RecordingSink s = new RecordingSink();
            sinks.add(s);
            registry.register(parked("a" + i, s));
        }
        Future<?> abandoner = pool.submit(() -> registry.forEach(ParkedCheckin::abandon));
        for (ParkedCheckin c : registry.forPolicy("policy-1")) {
            c.complete(ANSWER);
        }
        abandoner.get(5, TimeUnit.SECONDS);
        registry.forEach(ParkedCheckin::expire);

        assertEmpty();
        assertThat(sinks).allSatisfy(s -> assertThat(s.responses.get()).isLessThanOrEqualTo(1));
    }
}
