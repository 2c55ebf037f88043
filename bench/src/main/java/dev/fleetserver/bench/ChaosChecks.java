package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Checks more than one chaos phase makes, over what the generators counted and what the store holds. */
final class ChaosChecks {
    /** Generator counters that mean a request failed below HTTP: resets, timeouts, refused connections. */
    static final List<String> TRANSPORT = List.of("errors.io", "errors.timeout", "connectFailures");

    private ChaosChecks() {
    }

    /** The growth of the transport-error counters between two {@link Generators#counters()} readings. */
    static Map<String, Long> transportErrors(JsonNode before, JsonNode after) {
        Map<String, Long> out = new TreeMap<>();
        for (String k : TRANSPORT) {
            long d = after.path(k).asLong() - before.path(k).asLong();
            if (d > 0) {
                out.put(k, d);
            }
        }
        return out;
    }

    /**
     * With every server up: no connection reset or refused, and every request answered within the simulator's 60 s
     * request timeout (the agent's own is 10 minutes: a slower answer is a degradation the check names, not a failure
     * an agent would see).
     */
    static void noTransportErrors(Verdict v, Map<String, Long> transport) {
        long broken = transport.getOrDefault("errors.io", 0L) + transport.getOrDefault("connectFailures", 0L);
        v.check("no connection reset or refused (the servers stayed up)", broken == 0, transport.toString());
        long slow = transport.getOrDefault("errors.timeout", 0L);
        v.check("every request answered within 60 s (the simulated agent's request timeout)", slow == 0,
                slow + " requests timed out");
    }

    /** "agents got only 200, or 429/503 with Retry-After" over {@code answers} (a delta). */
    static void onlyRetryLater(Verdict v, Map<String, Long> answers) {
        Map<String, Long> bad = AnswerRules.agentViolations(answers, true);
        v.check("agents were answered only 200, or 429/503 with Retry-After (never 401, never 5xx without it)",
                bad.isEmpty(), bad.isEmpty() ? "answers " + answers : "violations " + bad + " of " + answers);
    }

    /**
     * Reads the journals and the store back and checks that nothing answered 200 is missing: "acks lost: 0" (policy
     * revisions and action results) and "enrolls lost: 0". Records the counts in {@code figures}.
     */
    static void nothingLost(Verdict v, Journal journal, StoreView store, ObjectNode figures) throws Exception {
        LostWrites.Lost lost = lost(journal, store);
        ObjectNode j = figures.putObject("journal");
        j.put("lines", journal.lines());
        j.put("malformedLines", journal.malformed());
        j.put("enrolls", journal.enrolled().size());
        j.put("policyAcks", journal.policyAcks().size());
        j.put("actionAcks", journal.actionAcks().size());
        ObjectNode l = figures.putObject("lost");
        l.put("enrolls", lost.enrolls().size());
        l.put("policyAcks", lost.policyAcks().size());
        l.put("actionAcks", lost.actionAcks().size());
        lost.examples(5).forEach(l.putArray("examples")::add);
        int acksLost = lost.policyAcks().size() + lost.actionAcks().size();
        v.check("acks lost: 0 (every ack answered 200 has its policy_revision_idx / action result)", acksLost == 0,
                "acks lost: " + acksLost + " of " + (journal.policyAcks().size() + journal.actionAcks().size())
                        + " (policy " + lost.policyAcks().size() + ", action " + lost.actionAcks().size() + ")"
                        + (acksLost > 0 ? " e.g. " + lost.examples(3) : ""));
        v.check("enrolls lost: 0 (every enroll answered 200 has its agent document)", lost.enrolls().isEmpty(),
                "enrolls lost: " + lost.enrolls().size() + " of " + journal.enrolled().size());
    }

    /** What of the journal the store does not hold. */
    static LostWrites.Lost lost(Journal journal, StoreView store) throws Exception {
        Map<String, LostWrites.AgentDoc> agents = store.agents(journal.agents());
        return LostWrites.check(journal, agents, store.actionResults(journal.actionAcks()));
    }

    /**
     * A second reading after the servers stopped gracefully (which flushes their buffered checkin writes), as a
     * figure: it tells a loss that a later write repairs from one that stays.
     */
    static void lostAfterGracefulStop(Journal journal, StoreView store, List<ServerProcess> servers, ObjectNode figures)
            throws Exception {
        for (ServerProcess s : servers) {
            if (s.alive()) {
                s.stop();
            }
        }
        LostWrites.Lost lost = lost(journal, store);
        ObjectNode l = figures.putObject("lostAfterServersStopped");
        l.put("enrolls", lost.enrolls().size());
        l.put("policyAcks", lost.policyAcks().size());
        l.put("actionAcks", lost.actionAcks().size());
        lost.examples(5).forEach(l.putArray("examples")::add);
    }
}
