package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The pass/fail verdict of one chaos phase: named checks, each passed or not with what was measured. A phase passes
 * when it recorded at least one check and every check passed; a phase that could not finish records that as a
 * failed check.
 */
final class Verdict {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One criterion: its name (what must hold), whether it held, and the measured detail. */
    record Check(String name, boolean passed, String detail) {
    }

    private final List<Check> checks = new ArrayList<>();

    /** Records a check; returns whether it passed. */
    synchronized boolean check(String name, boolean passed, String detail) {
        checks.add(new Check(name, passed, detail));
        return passed;
    }

    synchronized List<Check> checks() {
        return List.copyOf(checks);
    }

    synchronized boolean passed() {
        return !checks.isEmpty() && checks.stream().allMatch(Check::passed);
    }

    /**
     * One line for stdout: {@code chaos <phase>: PASS (n checks)} or {@code chaos <phase>: FAIL (k of n checks
     * failed: name — detail; ...)}.
     */
    synchronized String line(String phase) {
        if (passed()) {
            return "chaos " + phase + ": PASS (" + checks.size() + " checks)";
        }
        List<Check> failed = checks.stream().filter(c -> !c.passed()).toList();
        if (checks.isEmpty()) {
            return "chaos " + phase + ": FAIL (no check recorded)";
        }
        return "chaos " + phase + ": FAIL (" + failed.size() + " of " + checks.size() + " checks failed: "
                + failed.stream().map(c -> c.name() + " — " + c.detail()).collect(Collectors.joining("; ")) + ")";
    }

    synchronized ArrayNode toJson() {
        ArrayNode a = JSON.createArrayNode();
        for (Check c : checks) {
            ObjectNode o = a.addObject();
            o.put("check", c.name());
            o.put("passed", c.passed());
            o.put("detail", c.detail());
        }
        return a;
    }
}
