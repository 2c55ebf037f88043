package dev.fleetserver.netty.http;

import io.netty.buffer.ByteBuf;
import java.io.IOException;

/**
 * What a route does with its request body while it streams in (see {@link Exchange#readBody}): it is handed the
 * decoded bytes piece by piece, in order, on the connection's event loop, and asked for its result at the end.
 *
 * @param <T> the result, e.g. a JSON tree
 */
public interface BodyConsumer<T> {

    /**
     * Takes the next decoded piece. {@code piece} is valid only during the call and released by the caller.
     *
     * @throws IOException when the body cannot be what the route expects (malformed JSON…); the request then fails
     */
    void accept(ByteBuf piece) throws IOException;

    /** The body is complete: the result. */
    T finish() throws IOException;

    /**
     * Heap this consumer holds for what it has taken so far, counted against the process's body budget; an estimate
     * is fine as long as it does not undercount by much. Asked after every piece.
     */
    long retainedBytes();
}
