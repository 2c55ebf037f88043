package dev.fleetserver.core.longpoll;

import dev.fleetserver.core.model.HeldOutputKeys;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One long-polling checkin, waiting for an action, a newer policy revision, its timeout or shutdown. Kept as small
 * as possible: tens of thousands of these are parked at once. Whoever wins {@link #complete} writes the answer,
 * exactly once; every ending (answer, timeout, disconnect) unregisters it through the same path.
 */
public final class ParkedCheckin {
    private static final int LOOKING = 0;
    /** Looking, and a live dispatch was held back meanwhile: look again. */
    private static final int MISSED = 1;
    private static final int LOOKED = 2;
    private static final AtomicIntegerFieldUpdater<ParkedCheckin> LOOKUP =
            AtomicIntegerFieldUpdater.newUpdater(ParkedCheckin.class, "lookup");
    private static final AtomicIntegerFieldUpdater<ParkedCheckin> STATE =
            AtomicIntegerFieldUpdater.newUpdater(ParkedCheckin.class, "state");

    private final String agentId;
    private final String policyId;
    private final long revision;
    private final long actionSeqNo;
    private final String status;
    private final String message;
    /** The agent's output-key entries as its checkin read them (a shared empty instance when it has none). */
    private final HeldOutputKeys heldKeys;
    private final CheckinSink sink;
    private final CheckinRegistry registry;
    private volatile int state;
    /** The checkin's own lookup of pending actions: {@link #LOOKING}, {@link #MISSED} or {@link #LOOKED}. */
    private volatile int lookup = LOOKED;

    /**
     * A checkin about to park; it is {@linkplain CheckinRegistry#register registered} once its sink has been told to
     * {@linkplain CheckinSink#park park} it, and answered through {@code sink}.
     */
    public ParkedCheckin(String agentId, String policyId, long revision, long actionSeqNo,
                  String status, String message, HeldOutputKeys heldKeys, CheckinSink sink, CheckinRegistry registry) {
        this.agentId = agentId;
        this.policyId = policyId;
        this.revision = revision;
        this.actionSeqNo = actionSeqNo;
        this.status = status;
        this.message = message;
        this.heldKeys = heldKeys;
        this.sink = sink;
        this.registry = registry;
    }

    public String agentId() {
        return agentId;
    }

    public String policyId() {
        return policyId;
    }

    /** The policy revision the agent has; a higher one wakes it. */
    public long revision() {
        return revision;
    }

    /** The sequence number of the last action delivered; only newer actions wake it. */
    public long actionSeqNo() {
        return actionSeqNo;
    }

    /** The agent's output-key entries as its checkin read them, or null when unknown. */
    public HeldOutputKeys heldKeys() {
        return heldKeys;
    }

    /** The status the agent reported with this checkin. */
    public String status() {
        return status;
    }

    /** The message the agent reported with this checkin. */
    public String message() {
        return message;
    }

    /**
     * The checkin starts looking up its pending actions (after registering, up to the action monitor's checkpoint): until
     * {@link #finishLookup()} a live dispatch must not answer it, or the answer would carry the newer actions, move the
     * agent's ack token past them, and the older ones the lookup finds would never be delivered.
     */
    public void startLookup() {
        lookup = LOOKING;
    }

    /**
     * The lookup found nothing to deliver. Returns true when a live dispatch was held back meanwhile: the caller
     * looks again (still {@code LOOKING}, so no later dispatch can answer in between and skip the held-back actions).
     */
    public boolean finishLookup() {
        if (LOOKUP.compareAndSet(this, LOOKING, LOOKED)) {
            return false;
        }
        lookup = LOOKING;
        return true;
    }

    /** For live dispatch: whether this checkin may be answered with newly seen actions now; if not, it looks again. */
    public boolean acceptsLiveActions() {
        while (true) {
            int s = lookup;
            if (s == LOOKED) {
                return true;
            }
            if (s == MISSED || LOOKUP.compareAndSet(this, LOOKING, MISSED)) {
                return false;
            }
        }
    }

    /** Answers with {@code response} unless already answered; returns whether this call did it. */
    public boolean complete(CheckinResponse response) {
        if (!STATE.compareAndSet(this, 0, 1)) {
            return false;
        }
        registry.unregister(this);
        sink.respond(response);
        return true;
    }

    /**
     * The poll timed out, or the server is stopping: answer with nothing new, whose {@code ack_token} is empty (as
     * the original's: it names the last action delivered, and none was).
     */
    public boolean expire() {
        return complete(CheckinResponse.empty());
    }

    /** The client went away: forget it without writing. */
    public void abandon() {
        if (STATE.compareAndSet(this, 0, 2)) {
            registry.unregister(this);
        }
    }

    /** Failed after registration (e.g. the store is down): unregister and answer with the error. */
    public boolean fail(Throwable error) {
        if (!STATE.compareAndSet(this, 0, 1)) {
            return false;
        }
        registry.unregister(this);
        sink.fail(error);
        return true;
    }

    public boolean done() {
        return state != 0;
    }
}
