package dev.fleetserver.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the servers answered 200 to and must therefore keep, from the load generators' {@code --journal} files:
 * enrolled agents, acked policy revisions and acked actions. Lines: {@code enroll <agent id>} and
 * {@code ack <agent id> <action id>}, where a POLICY_CHANGE's action id is {@code policy:<policy id>:<revision>}
 * (possibly followed by {@code :<coordinator revision>}).
 */
final class Journal {
    /** A policy revision an agent acked; only the highest per agent and policy is kept. */
    record PolicyAck(String agentId, String policyId, long revision) {
    }

    private final Set<String> enrolled = new LinkedHashSet<>();
    private final Map<String, PolicyAck> policyAcks = new HashMap<>();
    /** {@code <action id>:<agent id>}, the id of the action result document each ack must have left. */
    private final Set<String> actionAcks = new LinkedHashSet<>();
    private long lines;
    private long malformed;

    static Journal read(Collection<Path> files) throws IOException {
        Journal j = new Journal();
        for (Path f : files) {
            if (Files.exists(f)) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    j.add(line);
                }
            }
        }
        return j;
    }

    /** Takes one journal line; a line it does not understand (e.g. cut short by a killed writer) is counted. */
    void add(String line) {
        String[] w = line.trim().split(" ");
        if (w.length == 1 && w[0].isEmpty()) {
            return;
        }
        lines++;
        if (w.length == 2 && w[0].equals("enroll")) {
            enrolled.add(w[1]);
        } else if (w.length == 3 && w[0].equals("ack") && w[2].startsWith("policy:")) {
            String[] p = w[2].split(":");
            long revision;
            try {
                revision = p.length >= 3 ? Long.parseLong(p[2]) : -1;
            } catch (NumberFormatException e) {
                revision = -1;
            }
            if (revision < 0) {
                malformed++;
                return;
            }
            PolicyAck ack = new PolicyAck(w[1], p[1], revision);
            policyAcks.merge(w[1] + " " + p[1], ack, (a, b) -> a.revision() >= b.revision() ? a : b);
        } else if (w.length == 3 && w[0].equals("ack")) {
            actionAcks.add(w[2] + ":" + w[1]);
        } else {
            malformed++;
        }
    }

    Set<String> enrolled() {
        return enrolled;
    }

    /** The highest revision each agent acked, per policy. */
    List<PolicyAck> policyAcks() {
        return List.copyOf(policyAcks.values());
    }

    Set<String> actionAcks() {
        return actionAcks;
    }

    /** Every agent the journal names. */
    Set<String> agents() {
        Set<String> ids = new LinkedHashSet<>(enrolled);
        policyAcks.values().forEach(a -> ids.add(a.agentId()));
        for (String r : actionAcks) {
            ids.add(r.substring(r.lastIndexOf(':') + 1));
        }
        return ids;
    }

    long lines() {
        return lines;
    }

    long malformed() {
        return malformed;
    }
}
