package dev.fleetserver.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares what the servers answered 200 to ({@link Journal}) with what the store holds at the end, and agent
 * documents before and after a crash: the chaos scenario's "nothing answered 200 lost" and "no document rolls back".
 */
final class LostWrites {
    private LostWrites() {
    }

    /** An agent document as far as these checks care: its policy and the revision it last acked. */
    record AgentDoc(String policyId, long revision) {
    }

    /** What is missing; each entry names the agent (and action or revision). */
    record Lost(List<String> enrolls, List<String> policyAcks, List<String> actionAcks) {
        int total() {
            return enrolls.size() + policyAcks.size() + actionAcks.size();
        }

        /** At most {@code n} examples of each kind, for a report. */
        List<String> examples(int n) {
            List<String> out = new ArrayList<>();
            enrolls.stream().limit(n).map(e -> "enroll " + e).forEach(out::add);
            policyAcks.stream().limit(n).forEach(out::add);
            actionAcks.stream().limit(n).map(a -> "action result " + a).forEach(out::add);
            return out;
        }
    }

    /**
     * Every enroll answered 200 must have left its agent document; every acked policy revision must be at or below
     * the document's {@code policy_revision_idx} (for the same policy); every acked action must have its action
     * result ({@code <action id>:<agent id>} in {@code results}).
     *
     * @param agents the agent documents found, by agent id
     */
    static Lost check(Journal journal, Map<String, AgentDoc> agents, Set<String> results) {
        List<String> enrolls = new ArrayList<>();
        for (String id : journal.enrolled()) {
            if (!agents.containsKey(id)) {
                enrolls.add(id);
            }
        }
        List<String> policy = new ArrayList<>();
        for (Journal.PolicyAck ack : journal.policyAcks()) {
            AgentDoc doc = agents.get(ack.agentId());
            if (doc == null) {
                policy.add(ack.agentId() + " acked " + ack.policyId() + " revision " + ack.revision() + ", no document");
            } else if (ack.policyId().equals(doc.policyId()) && doc.revision() < ack.revision()) {
                policy.add(ack.agentId() + " acked " + ack.policyId() + " revision " + ack.revision()
                        + ", document at " + doc.revision());
            }
        }
        List<String> actions = new ArrayList<>();
        for (String result : journal.actionAcks()) {
            if (!results.contains(result)) {
                actions.add(result);
            }
        }
        return new Lost(enrolls, policy, actions);
    }

    /**
     * Agents whose document went backwards between {@code before} and {@code after}: gone, or at a lower
     * {@code policy_revision_idx} of the same policy.
     */
    static List<String> rollbacks(Map<String, AgentDoc> before, Map<String, AgentDoc> after) {
        List<String> out = new ArrayList<>();
        before.forEach((id, b) -> {
            AgentDoc a = after.get(id);
            if (a == null) {
                out.add(id + " gone (was at revision " + b.revision() + ")");
            } else if (a.policyId().equals(b.policyId()) && a.revision() < b.revision()) {
                out.add(id + " from revision " + b.revision() + " back to " + a.revision());
            }
        });
        return out;
    }
}
