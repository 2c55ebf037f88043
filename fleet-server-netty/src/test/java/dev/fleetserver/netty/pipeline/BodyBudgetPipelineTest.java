package dev.fleetserver.netty.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.pipeline.FrontEnd.Connection;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A body is not read before its route asks for it (after authentication), and what all bodies hold together is
 * bounded by the process's budget: over it a request gets 429 with {@code Retry-After}, and everything it held is
 * given back.
 */
class BodyBudgetPipelineTest {
    private static final int KIB = 1024;

    private static String acksHead(int contentLength) {
        return "POST /api/fleet/agents/a/acks? HTTP/1.1\r\nHost: fleet\r\nContent-Length: " + contentLength + "\r\n\r\n";
    }

    @Test
    void aRouteThatAnswersBeforeReadingClosesTheConnectionAndHoldsNothing() throws Exception {
        BodyBudget budget = new BodyBudget(10L * 1024 * 1024);
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), budget);
        Connection c = fe.connect();
        c.send(acksHead(2 * 1024 * KIB - 1)).send(new byte[64 * KIB]);
        assertThat(fe.waiting).hasSize(1);
        // What one read brought is held, unparsed, while the route authenticates.
        assertThat(budget.held()).isEqualTo(64 * KIB);
        assertThat(c.server.config().isAutoRead()).as("reads nothing more before the route asks").isFalse();

        fe.waiting.get(0).respond(HttpResponseStatus.UNAUTHORIZED, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        List<FullHttpResponse> r = c.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).headers().get("Connection")).isEqualToIgnoringCase("close");
        assertThat(c.open()).isFalse();
        assertThat(budget.held()).isZero();
    }

    @Test
    void aBodyReadToItsEndBeforeTheAnswerKeepsTheConnection() throws Exception {
        BodyBudget budget = new BodyBudget(10L * 1024 * 1024);
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), budget);
        Connection c = fe.connect();
        c.send(acksHead(2) + "{}");
        fe.waiting.get(0).respond(HttpResponseStatus.UNAUTHORIZED, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(c.responses()).hasSize(1);
        assertThat(c.open()).isTrue();
        assertThat(budget.held()).isZero();
    }

    @Test
    void bodiesOverTheBudgetTogetherAre429WithRetryAfterAndGiveBackWhatTheyHeld() throws Exception {
        BodyBudget budget = new BodyBudget(100 * KIB);
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), budget);
        Connection first = fe.connect();
        first.send(acksHead(200 * KIB)).send(new byte[60 * KIB]);
        Connection second = fe.connect();
        second.send(acksHead(200 * KIB)).send(new byte[60 * KIB]);

        List<FullHttpResponse> r = second.responses();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).status().code()).isEqualTo(429);
        assertThat(r.get(0).headers().getInt("Retry-After")).isBetween(1, 5);
        assertThat(FrontEnd.body(r.get(0))).contains("\"error\":\"MaxLimit\"").contains("memory");
        assertThat(second.open()).isFalse();
        assertThat(budget.held()).isEqualTo(60 * KIB);
        assertThat(budget.refusals()).isEqualTo(1);

        first.server.close();
        first.server.runPendingTasks();
        assertThat(budget.held()).isZero();
    }

    @Test
    void whatTheConsumerRetainsCountsAgainstTheBudgetUntilTheAnswer() throws Exception {
        BodyBudget budget = new BodyBudget(2048 * KIB);
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), budget);
        Connection c = fe.connect();
        String events = "{\"events\":[" + "{\"action_id\":\"x\"},".repeat(3000) + "{}]}";
        c.send(acksHead(events.length()) + events);
        Exchange ex = fe.waiting.get(0);
        var tree = ex.readJson("ack").toCompletableFuture();
        assertThat(tree).isCompleted();
        assertThat(budget.held()).as("the tree of 6 000 tokens").isGreaterThan(events.length());
        ex.respond(HttpResponseStatus.OK, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(budget.held()).isZero();
    }

    @Test
    void aJsonBodyThatWouldHoldMoreThanTheBudgetIs429() throws Exception {
        BodyBudget budget = new BodyBudget(256 * KIB);
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), budget);
        Connection c = fe.connect();
        // 180 KiB of JSON, but tens of thousands of tokens: its tree would hold far more than the budget.
        String events = "[" + "{},".repeat(60_000) + "{}]";
        c.send(acksHead(events.length()) + events);
        Exchange ex = fe.waiting.get(0);
        var failure = ex.readJson("ack").handle((v, t) -> t).toCompletableFuture().join();
        assertThat(failure).isInstanceOf(dev.fleetserver.netty.limit.Rejection.class);
        ex.fail(failure);
        List<FullHttpResponse> r = c.responses();
        assertThat(r.get(0).status().code()).isEqualTo(429);
        assertThat(budget.held()).isZero();
    }

    @Test
    void pipelinedRequestsCountAgainstTheBudgetAndAClientOverItIsDisconnected() throws Exception {
        BodyBudget budget = new BodyBudget(64 * KIB);
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()), budget);
        Connection c = fe.connect();
        c.send(FrontEnd.checkin("a"));
        assertThat(fe.parked).hasSize(1);
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            many.append(FrontEnd.get("/api/status?"));
        }
        c.send(many.toString());
        assertThat(c.open()).as("closed once what waits would go over the budget").isFalse();
        assertThat(budget.held()).isZero();
    }

    @Test
    void aClientExpecting100ContinueIsAskedForItsBodyOnlyWhenTheRouteWantsIt() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/a/acks? HTTP/1.1\r\nHost: fleet\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        assertThat(c.responses()).as("nothing while the route authenticates").isEmpty();
        Exchange ex = fe.waiting.get(0);
        var tree = ex.readJson("ack");
        List<FullHttpResponse> r = c.responses();
        assertThat(r).extracting(x -> x.status().code()).containsExactly(100);
        c.send("{}");
        assertThat(tree.toCompletableFuture().join()).isEqualTo(dev.fleetserver.core.util.Json.object());
        ex.respond(HttpResponseStatus.OK, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(c.responses()).extracting(x -> x.status().code()).containsExactly(200);
        assertThat(c.open()).isTrue();
    }

    @Test
    void aClientExpecting100ContinueThatIsRefusedAtItsHeadNeverSendsItsBody() throws Exception {
        FrontEnd fe = new FrontEnd(FrontEnd.limits(0, Map.of()));
        Connection c = fe.connect();
        c.send("POST /api/fleet/agents/a/acks? HTTP/1.1\r\nHost: fleet\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        fe.waiting.get(0).respond(HttpResponseStatus.UNAUTHORIZED, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(c.responses()).extracting(x -> x.status().code()).containsExactly(401);
        assertThat(c.open()).isFalse();
    }
}
