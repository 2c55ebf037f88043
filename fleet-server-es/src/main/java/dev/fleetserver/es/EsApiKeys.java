package dev.fleetserver.es;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Json;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;

/**
 * Agent API keys as real Elasticsearch API keys ({@code _security/api_key}), owned by the fleet-server service
 * account. Authentication asks Elasticsearch with the agent's own key ({@code _security/_authenticate}); an
 * unreachable cluster is an outage (503 to the agent), never a 401. Key calls cannot be batched, so at most
 * {@code maxConcurrent} run at once, leaving connections for the batched traffic.
 */
public final class EsApiKeys implements ApiKeys {
    private final EsClient client;
    private final java.util.ArrayDeque<CompletableFuture<Void>> waiters = new java.util.ArrayDeque<>();
    private int available;
    /** Key creations sent and not answered yet. */
    private final java.util.concurrent.atomic.AtomicInteger creating = new java.util.concurrent.atomic.AtomicInteger();

    public EsApiKeys(EsClient client, int maxConcurrent) {
        this.client = client;
        this.available = maxConcurrent;
    }

    /**
     * A created key is visible to {@code DELETE /_security/api_key} once this completes, or an invalidation right
     * after (a failed enrollment, a quick unenroll) would silently match nothing. A creation with no other in flight
     * asks for {@code refresh=true}; one made while others are in flight asks for {@code refresh=wait_for}, which
     * gives the same guarantee but shares the next refresh of the security index instead of forcing one of its own:
     * when thousands of agents get their first policy at once (one output key each), a forced refresh per key held
     * key creation at ~50/s on the bench's 2-core node, with the security index's write thread busy refreshing.
     */
    @Override
    public CompletableFuture<ApiKey> create(String name, ObjectNode roleDescriptors, ObjectNode metadata) {
        ObjectNode body = Json.object();
        body.put("name", name);
        body.set("role_descriptors", roleDescriptors);
        body.set("metadata", metadata);
        String refresh = creating.getAndIncrement() == 0 ? "true" : "wait_for";
        return bounded(EsClient.Request.write("POST", "/_security/api_key?refresh=" + refresh, Json.bytes(body)))
                .whenComplete((r, t) -> creating.decrementAndGet()).thenApply(r -> {
            if (!r.ok()) {
                throw failure("create API key", r);
            }
            JsonNode j = r.json();
            return new ApiKey(j.path("id").asText(), j.path("api_key").asText());
        });
    }

    @Override
    public CompletableFuture<AuthResult> authenticate(ApiKey key) {
        return bounded(EsClient.Request.get("/_security/_authenticate").as("ApiKey " + key.token())).thenApply(r -> {
            if (r.status() == 401) {
                throw new FleetException(FleetError.UNAUTHORIZED);
            }
            if (r.status() == 429) {
                throw new FleetException(FleetError.ES_API_KEY_AUTH_LIMIT);
            }
            if (!r.ok()) {
                throw failure("authenticate API key", r);
            }
            JsonNode j = r.json();
            if (!key.id().equals(j.path("api_key").path("id").asText(key.id()))) {
                throw new FleetException(FleetError.UNAUTHORIZED);
            }
            return j.path("enabled").asBoolean(true) ? AuthResult.VALID : AuthResult.DISABLED;
        });
    }

    @Override
    public CompletableFuture<Void> invalidate(Collection<String> ids) {
        if (ids.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        ObjectNode body = Json.object();
        ids.forEach(body.putArray("ids")::add);
        body.put("owner", true);
        return bounded(EsClient.Request.write("DELETE", "/_security/api_key", Json.bytes(body))).thenAccept(r -> {
            if (!r.ok() && r.status() != 404) {
                throw failure("invalidate API keys", r);
            }
        });
    }

    private CompletableFuture<EsResponse> bounded(EsClient.Request request) {
        return acquire().thenCompose(v -> client.send(request)).whenComplete((r, t) -> release());
    }

    /** A permit now, or a future completed by the release that frees one (first come, first served, no polling). */
    private CompletableFuture<Void> acquire() {
        synchronized (waiters) {
            if (available > 0) {
                available--;
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> waiter = new CompletableFuture<>();
            waiters.add(waiter);
            return waiter;
        }
    }

    private void release() {
        CompletableFuture<Void> next;
        synchronized (waiters) {
            next = waiters.poll();
            if (next == null) {
                available++;
                return;
            }
        }
        // The permit passes straight to the next caller; completed outside the lock.
        next.complete(null);
    }

    private static StoreException failure(String what, EsResponse r) {
        String msg = what + ": " + r.describe();
        return EsFailures.outage(r.status()) ? new StoreException.Unavailable(msg, null) : new StoreException(msg);
    }
}
