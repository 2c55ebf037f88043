package dev.fleetserver.netty.http;

import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;

/**
 * The one signal that a request is over: its final answer (not a {@code 1xx}) has been written to the socket to its
 * last byte. {@link PipeliningGuard} fires it, as an inbound user event, to the handlers behind it, before it lets
 * the next pipelined request in; whatever they keep per request (the metrics of the request, the write and idle
 * timers, the admission ticket, the open exchange) ends on it. It is not fired when the answer cannot be written:
 * the connection is then closed, and handlers clean up as it goes inactive.
 */
public final class ResponseComplete {
    /** The event; it carries nothing. */
    public static final ResponseComplete INSTANCE = new ResponseComplete();

    private ResponseComplete() {
    }

    /** Whether {@code response} is a request's final answer rather than an informational one ({@code 100 Continue}). */
    public static boolean isFinal(HttpResponse response) {
        return response.status().codeClass() != HttpStatusClass.INFORMATIONAL;
    }

    @Override
    public String toString() {
        return "ResponseComplete";
    }
}
