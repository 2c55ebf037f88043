package dev.fleetserver.es.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.apikey.ApiKey;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.client.Batcher;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsFailures;
import dev.fleetserver.es.client.EsResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Agent API keys as real Elasticsearch API keys ({@code _security/api_key}), owned by the fleet-server service
 * account. Authentication asks Elasticsearch with the agent's own key ({@code _security/_authenticate}); an
 * unreachable cluster is an outage (503 to the agent), never a 401. Authentication cannot be batched, so at most
 * {@code maxConcurrent} key calls run at once, leaving connections for the batched traffic.
 *
 * <p>{@linkplain #recheck Re-checks} of keys authenticated before are batched: gathered for up to
 * {@link #RECHECK_WINDOW}, then looked up together with {@code _security/_query/api_key} (the service account may
 * read the keys it owns, which agent keys are), valid when neither invalidated nor expired. A key the lookup does not
 * show as valid, or every key when the cluster refuses the lookup, is authenticated on its own, so the answer is
 * always {@link #authenticate}'s.
 */
public final class EsApiKeys implements ApiKeys {
    /** How long a re-check may wait for others to share its request. */
    static final Duration RECHECK_WINDOW = Duration.ofSeconds(1);
    /** Keys looked up in one request. */
    static final int RECHECK_BATCH = 1000;
    private static final Logger LOG = LoggerFactory.getLogger(EsApiKeys.class);
    /** Only arms the re-check window: one idle daemon thread for every instance in the process. */
    private static final ScheduledExecutorService RECHECK_TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fleet-es-key-recheck");
        t.setDaemon(true);
        return t;
    });

    private final EsClient client;
    private final Batcher<Recheck> rechecks;
    /** The cluster refused the key lookup (an older version, fewer privileges): re-checks authenticate each key. */
    private volatile boolean lookupRefused;
    private final java.util.ArrayDeque<CompletableFuture<Void>> waiters = new java.util.ArrayDeque<>();
    private int available;
    /** Key creations sent and not answered yet. */
    private final java.util.concurrent.atomic.AtomicInteger creating = new java.util.concurrent.atomic.AtomicInteger();

    public EsApiKeys(EsClient client, int maxConcurrent) {
        this.client = client;
        this.available = maxConcurrent;
        this.rechecks = new Batcher<>("api-key-recheck", this::lookUp, RECHECK_TIMER, RECHECK_WINDOW, RECHECK_BATCH,
                Long.MAX_VALUE, 2);
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
    public CompletableFuture<AuthResult> recheck(ApiKey key) {
        if (lookupRefused) {
            return authenticate(key);
        }
        Recheck item = new Recheck(key, new CompletableFuture<>());
        rechecks.add(item);
        return item.result;
    }

    /** One lookup for a batch of re-checks; completes every item, and when the request is done. */
    private CompletableFuture<Void> lookUp(List<Recheck> batch) {
        ObjectNode body = Json.object();
        body.putObject("query").putObject("ids").set("values", Json.MAPPER.valueToTree(batch.stream().map(r -> r.key.id()).toList()));
        body.put("size", batch.size());
        return bounded(EsClient.Request.read("POST", "/_security/_query/api_key", Json.bytes(body))).handle((r, t) -> {
            if (t != null) {
                Throwable cause = Futures.unwrap(t);
                batch.forEach(item -> item.fail(cause));
            } else if (r.ok()) {
                Map<String, JsonNode> found = new HashMap<>();
                r.json().path("api_keys").forEach(k -> found.put(k.path("id").asText(), k));
                long now = System.currentTimeMillis();
                for (Recheck item : batch) {
                    JsonNode k = found.get(item.key.id());
                    if (k != null && !k.path("invalidated").asBoolean(false)
                            && (!k.hasNonNull("expiration") || k.path("expiration").asLong() > now)) {
                        item.result.complete(AuthResult.VALID);
                    } else {
                        authenticateFor(item);
                    }
                }
            } else if (EsFailures.outage(r.status())) {
                StoreException failure = failure("look up API keys", r);
                batch.forEach(item -> item.fail(failure));
            } else {
                if (!lookupRefused) {
                    LOG.warn("API keys cannot be looked up in a batch ({}): each is authenticated on its own", r.describe());
                }
                lookupRefused = true;
                batch.forEach(this::authenticateFor);
            }
            return null;
        });
    }

    private void authenticateFor(Recheck item) {
        authenticate(item.key).whenComplete((result, t) -> {
            if (t != null) {
                // Unwrapped, as a failed lookup fails its items: callers see the same exceptions either way.
                item.fail(Futures.unwrap(t));
            } else {
                item.result.complete(result);
            }
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

    private record Recheck(ApiKey key, CompletableFuture<AuthResult> result) implements Batcher.Item {
        @Override
        public int size() {
            return key.id().length() + 3;
        }

        @Override
        public void fail(Throwable t) {
            result.completeExceptionally(t);
        }
    }
}
