package dev.fleetserver.core.longpoll;

import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Every parked checkin, by agent (for actions) and by policy (for revisions). A second checkin of the same agent
 * supersedes the first, which is answered at once with nothing new.
 */
public final class CheckinRegistry {
    private final ConcurrentHashMap<String, ParkedCheckin> byAgent = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Set<ParkedCheckin>> byPolicy = new ConcurrentHashMap<>();

    /** Adds a parked checkin; one already parked for the same agent is answered at once with nothing new. */
    public void register(ParkedCheckin checkin) {
        byPolicy.computeIfAbsent(checkin.policyId(), k -> ConcurrentHashMap.newKeySet()).add(checkin);
        ParkedCheckin previous = byAgent.put(checkin.agentId(), checkin);
        if (previous != null && previous != checkin) {
            previous.expire();
        }
        // Ended while we were adding it (client gone, answered): its own unregister may have run before the add.
        if (checkin.done()) {
            unregister(checkin);
        }
    }

    void unregister(ParkedCheckin checkin) {
        byAgent.remove(checkin.agentId(), checkin);
        Set<ParkedCheckin> set = byPolicy.get(checkin.policyId());
        if (set != null) {
            set.remove(checkin);
        }
    }

    /** The parked checkin of an agent, or null. */
    public ParkedCheckin forAgent(String agentId) {
        return byAgent.get(agentId);
    }

    /** A snapshot-free view of the checkins parked on a policy; safe to iterate while they complete. */
    public Collection<ParkedCheckin> forPolicy(String policyId) {
        Set<ParkedCheckin> set = byPolicy.get(policyId);
        return set == null ? List.of() : set;
    }

    public int size() {
        return byAgent.size();
    }

    public void forEach(Consumer<ParkedCheckin> action) {
        byAgent.values().forEach(action);
    }
}
