package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/** The generator processes of one run and what they last reported. */
final class Generators {
    private static final ObjectMapper LINES = new ObjectMapper();

    final List<Child> children = new CopyOnWriteArrayList<>();
    final Map<Integer, JsonNode> progress = new ConcurrentHashMap<>();
    final Map<Integer, JsonNode> done = new ConcurrentHashMap<>();
    final BlockingQueue<JsonNode> fanouts = new LinkedBlockingQueue<>();
    final Map<Integer, Long> progressAt = new ConcurrentHashMap<>();
    final BlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
    final int count;

    Generators(int count) {
        this.count = count;
    }

    void onLine(int id, String line) {
        if (!line.startsWith("{")) {
            return;
        }
        try {
            JsonNode e = LINES.readTree(line);
            switch (e.path("event").asText()) {
                case "progress" -> {
                    progress.put(id, e);
                    progressAt.put(id, System.nanoTime());
                }
                case "done" -> done.put(id, e);
                case "fanout", "afanout", "artfanout" -> fanouts.add(e);
                case "ids", "window" -> replies.add(e);
                default -> {
                }
            }
        } catch (IOException e) {
            // Not one of ours.
        }
    }

    /**
     * Waits until the generators together report {@code agents} parked checkins and have kept reporting that
     * for {@code settle}; returns when they first did. Fails at the deadline or when a generator dies.
     */
    long awaitParked(int agents, long settle, long deadline, long notBefore) throws InterruptedException {
        long at = parkedWithin(agents, settle, deadline, notBefore);
        if (at < 0) {
            throw new IllegalStateException("not all agents parked in time: " + progress.values());
        }
        return at;
    }

    /**
     * As {@link #awaitParked}, but returns -1 at the deadline instead of failing (a chaos phase records that in its
     * verdict). Still fails when a generator dies: that is the bench's failure, not the server's.
     */
    long parkedWithin(int agents, long settle, long deadline, long notBefore) throws InterruptedException {
        long since = -1;
        long lastLog = 0;
        while (true) {
            long now = System.nanoTime();
            for (Child c : children) {
                if (!c.alive()) {
                    throw new IllegalStateException(c.name() + " exited early");
                }
            }
            long parked = 0;
            for (JsonNode p : progress.values()) {
                parked += p.path("parked").asLong();
            }
            boolean fresh = notBefore == 0 || progressAt.size() == count
                    && progressAt.values().stream().allMatch(t -> t - notBefore > 0);
            if (progress.size() == count && parked == agents && fresh) {
                if (since < 0) {
                    since = now;
                } else if (now - since >= settle) {
                    return since;
                }
            } else {
                since = -1;
            }
            if (now - deadline > 0) {
                return -1;
            }
            if (now - lastLog > TimeUnit.SECONDS.toNanos(10)) {
                lastLog = now;
                long enrolled = progress.values().stream().mapToLong(p -> p.path("enrolled").asLong()).sum();
                BenchRunner.log("  enrolled " + enrolled + " parked " + parked + "/" + agents + " "
                        + progress.values().stream().map(p -> p.path("errors").toString()).toList());
            }
            Thread.sleep(100);
        }
    }

    /** Sends {@code command} to every generator and returns their replies of {@code event} (bounded wait). */
    List<JsonNode> ask(String command, String event, long deadline) throws Exception {
        replies.clear();
        for (Child c : children) {
            c.send(command);
        }
        List<JsonNode> out = new ArrayList<>();
        long until = Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
        while (out.size() < children.size()) {
            JsonNode e = replies.poll(Math.max(1, (until - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            if (e == null) {
                throw new IllegalStateException("generators did not answer " + command);
            }
            if (e.path("event").asText().equals(event)) {
                out.add(e);
            }
        }
        return out;
    }

    /** The ids of all agents of all generators. */
    List<String> ids(long deadline) throws Exception {
        List<String> ids = new ArrayList<>();
        for (JsonNode e : ask("ids", "ids", deadline)) {
            e.path("ids").forEach(i -> ids.add(i.asText()));
        }
        return ids;
    }

    /** Ends the generators' ack windows (starting new ones) and returns what they held. */
    List<JsonNode> window(long deadline) throws Exception {
        return ask("window", "window", deadline);
    }

    /** Waits until every generator has reported {@code done} (enroll-only mode stops by itself). */
    void awaitDone(long deadline) throws InterruptedException {
        long lastLog = 0;
        while (done.size() < count) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("generators did not finish in time: " + progress.values());
            }
            if (System.nanoTime() - lastLog > TimeUnit.SECONDS.toNanos(10)) {
                lastLog = System.nanoTime();
                BenchRunner.log("  enrolled " + progress.values().stream().mapToLong(p -> p.path("enrolled").asLong()).sum());
            }
            Thread.sleep(100);
        }
    }

    /** The generators' cumulative error and retry counters, summed: {@code errors.<kind>}, reconnects, ... */
    ObjectNode counters() {
        ObjectNode c = LINES.createObjectNode();
        for (JsonNode p : progress.values()) {
            for (String f : List.of("throttled", "reconnects", "connectFailures", "pollsExpired", "failovers")) {
                c.put(f, c.path(f).asLong() + p.path(f).asLong());
            }
            p.path("errors").fields().forEachRemaining(e -> c.put("errors." + e.getKey(),
                    c.path("errors." + e.getKey()).asLong() + e.getValue().asLong()));
        }
        return c;
    }

    /** The generators' answers by {@code <step>.<status>[.ra]}, summed (as of their last progress lines). */
    Map<String, Long> answers() {
        Map<String, Long> a = new java.util.TreeMap<>();
        for (JsonNode p : progress.values()) {
            p.path("answers").fields().forEachRemaining(e -> a.merge(e.getKey(), e.getValue().asLong(), Long::sum));
        }
        return a;
    }

    /** Sum of one numeric field of the generators' last progress lines ({@code parked}, {@code started}, ...). */
    long sum(String field) {
        return progress.values().stream().mapToLong(p -> p.path(field).asLong()).sum();
    }

    ObjectNode lastErrors() {
        ObjectNode c = LINES.createObjectNode();
        for (JsonNode p : progress.values()) {
            p.path("lastError").fields().forEachRemaining(e -> c.set(e.getKey(), e.getValue()));
        }
        return c;
    }

    void stopAll() throws InterruptedException {
        for (Child c : children) {
            try {
                c.send("stop");
            } catch (IOException e) {
                // Gone already.
            }
        }
        for (Child c : children) {
            c.close(30);
        }
    }

    ObjectNode summary() {
        ObjectNode s = LINES.createObjectNode();
        s.put("processes", count);
        Histogram enroll = new Histogram(TimeUnit.HOURS.toMicros(1), 3);
        long reconnects = 0;
        long throttled = 0;
        long expired = 0;
        ObjectNode errors = s.putObject("errors");
        for (JsonNode d : done.values()) {
            enroll.add(Histograms.decode(d.path("enrollHistogram").asText()));
            reconnects += d.path("reconnects").asLong();
            throttled += d.path("throttled").asLong();
            expired += d.path("pollsExpired").asLong();
            d.path("errors").fields().forEachRemaining(f -> errors.put(f.getKey(),
                    errors.path(f.getKey()).asLong() + f.getValue().asLong()));
        }
        ObjectNode ew = s.putObject("enrollWindow");
        BenchRunner.windows(done.values(), "enrollWindow", ew);
        s.put("enrollP50Millis", enroll.getValueAtPercentile(50) / 1000.0);
        s.put("enrollP99Millis", enroll.getValueAtPercentile(99) / 1000.0);
        s.put("enrollMaxMillis", enroll.getMaxValue() / 1000.0);
        s.put("reconnects", reconnects);
        s.put("throttled", throttled);
        s.put("pollsExpired", expired);
        return s;
    }
}
