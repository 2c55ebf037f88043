package dev.fleetserver.netty.http;

/** One endpoint: reads what it needs from the exchange and answers through it, now or later, exactly once. */
@FunctionalInterface
public interface RouteHandler {
    void handle(Exchange exchange);
}
