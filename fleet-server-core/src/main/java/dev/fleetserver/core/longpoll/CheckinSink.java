package dev.fleetserver.core.longpoll;

import java.time.Duration;

/**
 * Where a checkin's answer goes: implemented by the HTTP layer, one per request. Core calls {@link #park} at most
 * once, then exactly one of {@link #respond} or {@link #fail} (possibly without parking first); any of these may be
 * called from any thread, so implementations hop onto their connection's own thread.
 */
public interface CheckinSink {

    /**
     * Keep the request open: arrange for {@code checkin.expire()} to run after {@code wait} unless the checkin is
     * answered first, and for {@code checkin.abandon()} if the client goes away. A {@code park} that arrives after
     * {@link #respond} must be ignored.
     */
    void park(ParkedCheckin checkin, Duration wait);

    /** Answer 200 with this body. */
    void respond(CheckinResponse response);

    /** Answer with the error ({@link dev.fleetserver.core.error.FleetException}, store failure, …). */
    void fail(Throwable error);
}
