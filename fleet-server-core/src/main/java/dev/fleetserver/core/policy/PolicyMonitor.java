package dev.fleetserver.core.policy;

import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.longpoll.CheckinRegistry;
import dev.fleetserver.core.longpoll.ParkedCheckin;
import dev.fleetserver.core.metrics.FleetMetrics;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.store.ChangeFeed;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Scheduler;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the latest revision of every policy, prepared for delivery, and wakes the checkins parked on a policy when
 * a newer revision lands in {@code .fleet-policies} (from anyone: our management API, Kibana, a script). One change
 * feed for the whole index, never per agent; every waiting agent is woken at once (the original paces this at
 * ~200 agents/s).
 */
public final class PolicyMonitor {
    private static final Logger LOG = LoggerFactory.getLogger(PolicyMonitor.class);

    private final FleetRepository repo;
    private final CheckinRegistry registry;
    private final SecretStore secrets;
    private final ChangeFeed feed;
    private final OutputKeys outputKeys;
    private final AgentOutputKeys agentKeys;
    private final Map<String, PreparedPolicy> latest = new ConcurrentHashMap<>();
    private final FleetMetrics metrics;
    private volatile java.util.function.Consumer<PolicyRevision> onRevision = rev -> { };

    /** Without output keys (outputs are delivered as written) and without metrics. */
    public PolicyMonitor(FleetRepository repo, CheckinRegistry registry, SecretStore secrets, Scheduler scheduler) {
        this(repo, registry, secrets, scheduler, OutputKeys.none(),
                new AgentOutputKeys(repo, OutputKeys.none(), java.time.Clock.systemUTC()), FleetMetrics.NONE);
    }

    /**
     * @param outputKeys where output keys come from ({@link OutputKeys#none()}: outputs are delivered as written)
     * @param agentKeys  the per-agent keys, using the same {@code outputKeys}
     * @param metrics    where fan-out latencies go
     */
    public PolicyMonitor(FleetRepository repo, CheckinRegistry registry, SecretStore secrets, Scheduler scheduler,
                         OutputKeys outputKeys, AgentOutputKeys agentKeys, FleetMetrics metrics) {
        this.metrics = metrics;
        this.repo = repo;
        this.registry = registry;
        this.secrets = secrets;
        this.outputKeys = outputKeys;
        this.agentKeys = agentKeys;
        this.feed = repo.changeFeed(FleetIndex.POLICIES, scheduler, this::onChanges);
    }

    /** Called with every revision newer than the one cached before (once per revision, on a store thread). */
    public void onRevision(java.util.function.Consumer<PolicyRevision> listener) {
        this.onRevision = listener;
    }

    /** Loads every policy's latest revision, then follows the index. Completes when the initial load is done. */
    public CompletableFuture<Void> start() {
        return feed.start();
    }

    public void stop() {
        feed.stop();
    }

    /** The cached latest revision, or empty when the policy is unknown to this monitor. */
    public Optional<PreparedPolicy> latest(String policyId) {
        return Optional.ofNullable(latest.get(policyId));
    }

    /** The latest revision, loading it from the store when not cached (a policy this server has not seen yet). */
    public CompletableFuture<Optional<PreparedPolicy>> latestOrLoad(String policyId) {
        PreparedPolicy cached = latest.get(policyId);
        if (cached != null) {
            return CompletableFuture.completedFuture(Optional.of(cached));
        }
        return repo.latestPolicy(policyId).thenCompose(rev -> rev.isEmpty()
                ? CompletableFuture.completedFuture(Optional.<PreparedPolicy>empty())
                : withSecrets(rev.get()).thenApply(values -> Optional.ofNullable(offerAndWake(rev.get(), values, System.nanoTime()))));
    }

    /** The values of the secrets a revision refers to (none fetched when it refers to none). */
    private CompletableFuture<Map<String, String>> withSecrets(PolicyRevision rev) {
        var ids = PolicySecrets.referencedIds(rev.data());
        return ids.isEmpty() ? CompletableFuture.completedFuture(Map.of()) : secrets.values(ids);
    }

    private void onChanges(List<Doc> docs) {
        long seen = System.nanoTime();
        Map<String, PolicyRevision> newest = new HashMap<>();
        for (Doc d : docs) {
            PolicyRevision rev = new PolicyRevision(d);
            if (rev.policyId() != null) {
                newest.merge(rev.policyId(), rev, (a, b) -> b.revisionIdx() > a.revisionIdx() ? b : a);
            }
        }
        for (PolicyRevision rev : newest.values()) {
            withSecrets(rev).thenAccept(values -> offerAndWake(rev, values, seen)).exceptionally(t -> {
                LOG.warn("policy {} revision {}: secrets could not be read, not delivered yet: {}", rev.policyId(),
                        rev.revisionIdx(), t.toString());
                return null;
            });
        }
    }

    /**
     * Caches {@code rev} if newer and, if it was, wakes the checkins parked on an older revision. Whoever installs a
     * revision wakes for it (the change feed or a checkin's load), so a revision first seen by a load is not lost.
     */
    private PreparedPolicy offerAndWake(PolicyRevision rev, Map<String, String> secretValues, long seenNanos) {
        PreparedPolicy before = latest.get(rev.policyId());
        PreparedPolicy now = offer(rev, secretValues);
        if (now != before && now != null) {
            wake(now, seenNanos);
            try {
                onRevision.accept(rev);
            } catch (RuntimeException e) {
                LOG.warn("policy {} revision {}: a listener failed: {}", rev.policyId(), rev.revisionIdx(), e.toString());
            }
        }
        return now;
    }

    /** Caches {@code rev} if newer than what is cached; returns what is cached afterwards. */
    private PreparedPolicy offer(PolicyRevision rev, Map<String, String> secretValues) {
        return latest.compute(rev.policyId(), (id, cur) -> {
            if (cur != null && cur.revision() >= rev.revisionIdx()) {
                return cur;
            }
            try {
                return PreparedPolicy.prepare(rev, secretValues, outputKeys);
            } catch (RuntimeException e) {
                LOG.warn("policy {} revision {} cannot be prepared; keeping the previous one", rev.policyId(), rev.revisionIdx(), e);
                return cur;
            }
        });
    }

    private void wake(PreparedPolicy policy, long seenNanos) {
        int woken = 0;
        for (ParkedCheckin c : registry.forPolicy(policy.policyId())) {
            if (c.revision() >= policy.revision() || c.done()) {
                continue;
            }
            if (!agentKeys.issuesKeys()) {
                if (c.complete(policy.responseFor(c.agentId()))) {
                    woken++;
                    metrics.fannedOut(FleetMetrics.FanOut.POLICY, seenNanos);
                }
                continue;
            }
            // Output keys: from what the checkin held when they fit, else from the agent's document (and maybe new
            // keys); answered when they are ready.
            woken++;
            agentKeys.responseFor(policy, c.agentId(), c.heldKeys()).whenComplete((response, error) -> {
                if (error == null) {
                    if (c.complete(response)) {
                        metrics.fannedOut(FleetMetrics.FanOut.POLICY, seenNanos);
                    }
                } else {
                    // Nothing new for now; its next checkin tries again and reports a lasting failure.
                    LOG.warn("policy {} revision {}: output keys of agent {} not ready: {}", policy.policyId(),
                            policy.revision(), c.agentId(), error.toString());
                    c.expire();
                }
            });
        }
        LOG.info("policy {} revision {}: woke {} parked checkins", policy.policyId(), policy.revision(), woken);
    }
}
