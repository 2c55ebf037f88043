package dev.fleetserver.netty.pipeline;

import dev.fleetserver.netty.config.ServerConfig;
import dev.fleetserver.netty.config.TimeoutsConfig;
import dev.fleetserver.netty.limit.BodyBudget;
import dev.fleetserver.netty.limit.ResolvedLimits;
import java.util.Objects;

/**
 * Everything that shapes one listener's pipeline, in one object: the listener takes it whole, and it is made from
 * the configuration's {@code inputs[0].server} section in one place ({@link #agentApi}, {@link #management}).
 *
 * @param agentApi             true for the agent API (request ids and API version headers, as the original, and
 *                             admission control), false for the management listener
 * @param maxHeaderBytes       the largest request head accepted
 * @param timeouts             read header, read, write and idle timeouts (the read timeout also bounds a TLS
 *                             handshake)
 * @param compressionLevel     gzip level of answers, 0 for never
 * @param compressionThreshold answers up to this many bytes are not compressed
 * @param limits               route and connection limits; null for none (the management listener)
 * @param budget               the memory request bodies may hold together, shared with the process's other listeners
 */
public record ListenerSettings(boolean agentApi, int maxHeaderBytes, TimeoutsConfig timeouts, int compressionLevel,
                               int compressionThreshold, ResolvedLimits limits, BodyBudget budget) {

    public ListenerSettings {
        Objects.requireNonNull(timeouts, "timeouts");
        Objects.requireNonNull(budget, "budget");
    }

    /** The agent API of {@code server}, under {@code limits} and the process's body budget. */
    public static ListenerSettings agentApi(ServerConfig server, ResolvedLimits limits) {
        return new ListenerSettings(true, server.limits().maxHeaderByteSize(), server.timeouts(), server.compressionLevel(),
                server.compressionThreshold(), limits, BodyBudget.PROCESS);
    }

    /** The management listener beside {@code server}: the same head size and timeouts, no limits, no compression. */
    public static ListenerSettings management(ServerConfig server) {
        return new ListenerSettings(false, server.limits().maxHeaderByteSize(), server.timeouts(), 0, 0, null,
                BodyBudget.PROCESS);
    }
}
