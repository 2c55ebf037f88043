package dev.fleetserver.core.longpoll;

/** Parks checkins from tests in other packages (the constructor and {@code register} are package-private). */
public final class Parking {
    private Parking() {
    }

    public static ParkedCheckin park(CheckinRegistry registry, String agentId, String policyId, long revision,
                                     long actionSeqNo, CheckinSink sink) {
        ParkedCheckin p = new ParkedCheckin(agentId, policyId, revision, actionSeqNo, "online", "", null, sink, registry);
        registry.register(p);
        return p;
    }
}
