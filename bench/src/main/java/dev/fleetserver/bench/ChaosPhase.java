package dev.fleetserver.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** One phase of the chaos scenario: does its damage, records its figures and its checks. */
abstract class ChaosPhase {
    private final String name;

    /** @param name as {@code --phases} names it */
    ChaosPhase(String name) {
        this.name = name;
    }

    /** As {@code --phases} names it. */
    final String name() {
        return name;
    }

    /**
     * Runs the phase; every wait is bounded by {@code deadline} (a nanoTime). A phase that cannot go on throws; the
     * runner records that as a failed check, keeping what was recorded so far.
     */
    abstract void run(ChaosRig rig, Verdict verdict, ObjectNode figures, long deadline) throws Exception;
}
