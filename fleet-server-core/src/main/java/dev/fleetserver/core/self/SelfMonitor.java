package dev.fleetserver.core.self;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.store.StoreException;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Scheduler;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server as an agent of its Fleet Server policy, so that Kibana sees it: its own {@code .fleet-agents} document,
 * created at the first heartbeat and refreshed by partial updates every heartbeat ({@code checkin_timestamp}, 30 s),
 * saying whether it is {@code STARTING}, {@code HEALTHY} or {@code DEGRADED} and why, in the shape Elastic Agent
 * reports a running fleet-server ({@code components} with the input unit Kibana matches against the policy's
 * fleet-server input). A stopped server stops refreshing, so Kibana shows it offline five minutes later.
 *
 * <p>The policy is {@code inputs[0].policy.id} of the configuration, else the one marked {@code default_fleet_server};
 * once the document exists, the {@code policy_id} in it is followed (Kibana reassigns by writing it), except that a
 * configured id is written back at start. Its state follows the original's self-monitor: {@code STARTING} while the
 * policy or its fleet-server input is missing, else {@code HEALTHY}, or {@code DEGRADED} with the reason
 * {@link HealthSignals} gives. Without a configured id and without a default Fleet Server policy the server does not
 * register at all.
 *
 * <p>Only fields this class owns are written after creation; what Kibana writes ({@code tags}, {@code policy_id},
 * upgrade and unenroll fields) is left alone. When Kibana unenrolls the server's agent, the next heartbeat registers
 * it again, with a warning, by a conditional whole-document write that clears the unenrollment (a partial update
 * cannot remove fields).
 */
public final class SelfMonitor {
    private static final Logger LOG = LoggerFactory.getLogger(SelfMonitor.class);

    /** Elastic Agent's name for the fleet-server component of the {@code default} output. */
    public static final String COMPONENT_ID = "fleet-server-default";
    /** Fields of an unenrolled or uninstalled agent that re-registration removes. */
    static final List<String> UNENROLLMENT_FIELDS = List.of("unenrolled_at", "unenrollment_started_at",
            "unenrolled_reason", "audit_unenrolled_reason", "audit_unenrolled_time");

    /**
     * @param configuredPolicyId {@code inputs[0].policy.id}, or null
     * @param agentId            the server's stable agent id
     * @param version            the stack version the server speaks ({@code agent.version})
     * @param host               the host it runs on
     * @param pid                its process id (the component message)
     * @param heartbeat          how often the document is refreshed
     * @param logLevel           {@code local_metadata.elastic.agent.log_level}
     * @param backEnd            how messages name the store ({@code Elasticsearch}, {@code embedded store})
     */
    public record Settings(String configuredPolicyId, String agentId, String version, HostFacts host, long pid,
                           Duration heartbeat, String logLevel, String backEnd) {
        public Settings {
            Objects.requireNonNull(agentId, "agentId");
            Objects.requireNonNull(version, "version");
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(heartbeat, "heartbeat");
        }
    }

    /** A unit state as Elastic Agent reports it. */
    public enum State { STARTING, HEALTHY, DEGRADED }

    /**
     * What the last heartbeat found and wrote.
     *
     * @param policyId     the policy the server runs on, or null when it has none
     * @param revision     that policy's latest revision, or -1
     * @param inputId      the id of its fleet-server input, or null
     * @param fleetServer  that input (its settings), or null
     * @param state        the state written
     * @param message      the message written
     */
    public record Snapshot(String policyId, long revision, String inputId, ObjectNode fleetServer, State state,
                           String message) {
    }

    private final FleetRepository repo;
    private final HealthSignals health;
    private final Scheduler scheduler;
    private final Clock clock;
    private final Settings settings;
    private final AtomicBoolean beating = new AtomicBoolean();
    private volatile boolean again;
    private volatile boolean failing;
    private volatile Consumer<Snapshot> onPolicy = s -> { };
    private volatile Snapshot last;
    private volatile boolean stopped;
    private Scheduler.Cancellable next;
    private volatile String followedPolicyId;
    private boolean configuredWritten;
    private boolean unregisteredLogged;

    public SelfMonitor(FleetRepository repo, HealthSignals health, Scheduler scheduler, Clock clock, Settings settings) {
        this.repo = repo;
        this.health = health;
        this.scheduler = scheduler;
        this.clock = clock;
        this.settings = settings;
    }

    /** Called after every heartbeat with what it found (the policy's fleet-server input drives the server's settings). */
    public void onPolicy(Consumer<Snapshot> listener) {
        this.onPolicy = listener;
    }

    /** The first heartbeat now, then one every {@link Settings#heartbeat}. */
    public synchronized void start() {
        stopped = false;
        beatAndReschedule();
    }

    /** No more heartbeats; the document stays as last written (and so turns offline in Kibana). */
    public synchronized void stop() {
        stopped = true;
        if (next != null) {
            next.cancel();
            next = null;
        }
    }

    /** What the last heartbeat found, or null before the first. */
    public Snapshot last() {
        return last;
    }

    /** The server's agent id. */
    public String agentId() {
        return settings.agentId();
    }

    private void beatAndReschedule() {
        beat().whenComplete((v, t) -> {
            synchronized (this) {
                if (!stopped) {
                    next = scheduler.schedule(this::beatAndReschedule, settings.heartbeat());
                }
            }
        });
    }

    /**
     * One heartbeat: finds the policy, works out the state, writes the document. Never fails (a failed write is logged
     * and retried at the next heartbeat); a heartbeat asked for while one runs is skipped.
     */
    public CompletableFuture<Void> beat() {
        // Asked before trying: a heartbeat ending between a failed try and this flag would otherwise miss it.
        again = true;
        if (!beating.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        again = false;
        return repo.agent(settings.agentId())
                .thenCompose(doc -> policyId(doc).thenCompose(policy -> write(doc, policy)))
                .handle((v, t) -> {
                    if (t == null) {
                        if (failing) {
                            failing = false;
                            LOG.info("this server's agent document {} is refreshed again", settings.agentId());
                        }
                    } else if (!failing) {
                        // Once per outage: the store's own failures are logged where they happen.
                        failing = true;
                        LOG.warn("could not refresh this server's agent document {} (retried every {} s): {}",
                                settings.agentId(), settings.heartbeat().toSeconds(), Futures.unwrap(t).toString());
                    } else {
                        LOG.debug("agent document {} still not refreshed: {}", settings.agentId(), Futures.unwrap(t).toString());
                    }
                    return null;
                })
                .thenCompose(v -> {
                    beating.set(false);
                    // A revision that landed during this heartbeat was maybe not seen by it.
                    return again && !stopped ? beat() : CompletableFuture.<Void>completedFuture(null);
                });
    }

    /**
     * A new revision of some policy: when it is the one the server runs on (or may run on: configured, or marked
     * {@code default_fleet_server} while the server has none), a heartbeat now, so that its settings apply within
     * the change feed's delay rather than at the next heartbeat.
     */
    public void policyRevision(PolicyRevision revision) {
        String id = revision.policyId();
        boolean ours = id.equals(followedPolicyId) || id.equals(settings.configuredPolicyId())
                || followedPolicyId == null && revision.doc().source().path("default_fleet_server").asBoolean(false);
        if (ours && !stopped) {
            beat();
        }
    }

    /** The policy to run on, with its latest revision when it exists; empty when there is none to register with. */
    private CompletableFuture<Found> policyId(Optional<Agent> doc) {
        String configured = settings.configuredPolicyId();
        String id;
        if (configured != null && !configuredWritten) {
            id = configured;
        } else if (doc.isPresent() && doc.get().policyId() != null && doc.get().active()) {
            id = doc.get().policyId();
        } else if (followedPolicyId != null) {
            id = followedPolicyId;
        } else {
            id = configured;
        }
        if (id != null) {
            String chosen = id;
            return repo.latestPolicy(id).thenApply(p -> new Found(chosen, p.orElse(null)));
        }
        return repo.latestDefaultFleetServerPolicy().thenApply(p -> new Found(p.map(PolicyRevision::policyId).orElse(null),
                p.orElse(null)));
    }

    private record Found(String policyId, PolicyRevision revision) {
    }

    private CompletableFuture<Void> write(Optional<Agent> doc, Found found) {
        if (found.policyId() == null) {
            if (!unregisteredLogged) {
                unregisteredLogged = true;
                LOG.info("not registered as a Fleet Server agent: inputs[0].policy.id is not set and no policy is marked "
                        + "default_fleet_server (create one with has_fleet_server and is_default_fleet_server)");
            }
            last = new Snapshot(null, -1, null, null, State.STARTING, "Waiting on policy with Fleet Server integration");
            return CompletableFuture.completedFuture(null);
        }
        if (followedPolicyId != null && !followedPolicyId.equals(found.policyId())) {
            LOG.info("this server's agent {} now runs on policy {} (was {})", settings.agentId(), found.policyId(),
                    followedPolicyId);
        }
        followedPolicyId = found.policyId();
        Snapshot snapshot = snapshot(found);
        Instant now = clock.instant();
        CompletableFuture<?> written;
        if (doc.isEmpty()) {
            LOG.info("registering this server as agent {} of Fleet Server policy {}", settings.agentId(), found.policyId());
            written = repo.createAgent(settings.agentId(), document(snapshot, now, Json.object()));
        } else if (!doc.get().active() || unenrolling(doc.get())) {
            LOG.warn("this server's agent {} was unenrolled (in Kibana or through the management API); registering it "
                    + "again on policy {}", settings.agentId(), found.policyId());
            written = repo.replaceAgentIfUnchanged(doc.get(), document(snapshot, now, doc.get().source()));
        } else {
            ObjectNode partial = heartbeat(snapshot, now);
            if (settings.configuredPolicyId() != null && !configuredWritten
                    && !settings.configuredPolicyId().equals(doc.get().policyId())) {
                LOG.info("this server's agent {} is moved to the configured policy {} (was {})", settings.agentId(),
                        settings.configuredPolicyId(), doc.get().policyId());
                partial.put("policy_id", settings.configuredPolicyId());
                partial.put("policy_base_id", settings.configuredPolicyId());
            }
            written = repo.updateAgent(settings.agentId(), partial);
        }
        return written.handle((v, t) -> {
            if (t != null) {
                if (Futures.unwrap(t) instanceof StoreException.Conflict) {
                    // Someone wrote the document meanwhile: the next heartbeat reads it again.
                    return null;
                }
                throw t instanceof RuntimeException r ? r : new StoreException(t.toString(), t);
            }
            configuredWritten = true;
            last = snapshot;
            onPolicy.accept(snapshot);
            return null;
        });
    }

    private static boolean unenrolling(Agent agent) {
        JsonNode s = agent.source();
        return s.hasNonNull("unenrollment_started_at") || s.hasNonNull("unenrolled_at")
                || s.hasNonNull("audit_unenrolled_reason");
    }

    private Snapshot snapshot(Found found) {
        String id = found.policyId();
        if (found.revision() == null) {
            return new Snapshot(id, -1, null, null, State.STARTING, "Waiting on policy with Fleet Server integration: " + id);
        }
        ObjectNode input = fleetServerInput(found.revision().data());
        if (input == null) {
            return new Snapshot(id, found.revision().revisionIdx(), null, null, State.STARTING,
                    "Waiting on fleet-server input to be added to policy: " + id);
        }
        String inputId = input.path("id").asText("");
        String reason = health.degradedReason(settings.backEnd());
        if (reason != null) {
            return new Snapshot(id, found.revision().revisionIdx(), inputId, input, State.DEGRADED, reason);
        }
        return new Snapshot(id, found.revision().revisionIdx(), inputId, input, State.HEALTHY,
                "Running on policy with Fleet Server integration: " + id);
    }

    /** The first input of type {@code fleet-server} of a policy's content, or null. */
    public static ObjectNode fleetServerInput(JsonNode policyData) {
        for (JsonNode input : policyData.path("inputs")) {
            if (input instanceof ObjectNode o && "fleet-server".equals(input.path("type").asText())) {
                return o;
            }
        }
        return null;
    }

    /** The whole document: at registration, or re-registration over {@code previous} (whose other fields are kept). */
    private ObjectNode document(Snapshot s, Instant now, JsonNode previous) {
        ObjectNode doc = previous.isObject() ? ((ObjectNode) previous).deepCopy() : Json.object();
        UNENROLLMENT_FIELDS.forEach(doc::remove);
        doc.put("type", "PERMANENT");
        doc.put("active", true);
        doc.put("enrolled_at", now.toString());
        doc.put("policy_id", s.policyId());
        doc.put("policy_base_id", s.policyId());
        ObjectNode agent = doc.putObject("agent");
        agent.put("id", settings.agentId());
        agent.put("version", settings.version());
        if (!doc.has("user_provided_metadata")) {
            doc.putObject("user_provided_metadata");
        }
        if (!doc.has("tags")) {
            doc.putArray("tags");
        }
        doc.putArray("action_seq_no").add(-1);
        doc.setAll(heartbeat(s, now));
        return doc;
    }

    /** The fields every heartbeat refreshes. */
    private ObjectNode heartbeat(Snapshot s, Instant now) {
        ObjectNode doc = Json.object();
        String time = now.toString();
        doc.put("last_checkin", time);
        doc.put("updated_at", time);
        doc.put("last_checkin_status", switch (s.state()) {
            case HEALTHY -> "online";
            case DEGRADED -> "DEGRADED";
            case STARTING -> "starting";
        });
        doc.put("last_checkin_message", s.message());
        if (s.state() == State.DEGRADED) {
            doc.putArray("unhealthy_reason").add("input").add("output");
        } else {
            doc.putNull("unhealthy_reason");
        }
        doc.put("agent_policy_id", s.policyId());
        if (s.revision() >= 0) {
            doc.put("policy_revision_idx", s.revision());
        }
        doc.set("components", components(s));
        doc.set("local_metadata", localMetadata());
        return doc;
    }

    private ArrayNode components(Snapshot s) {
        ArrayNode components = Json.array();
        ObjectNode c = components.addObject();
        c.put("id", COMPONENT_ID);
        c.put("type", "fleet-server");
        c.put("status", s.state().name());
        c.put("message", "Healthy: communicating with pid '" + settings.pid() + "'");
        ArrayNode units = c.putArray("units");
        if (s.inputId() != null) {
            ObjectNode input = units.addObject();
            input.put("id", COMPONENT_ID + "-" + s.inputId());
            input.put("type", "input");
            input.put("status", s.state().name());
            input.put("message", s.message());
        }
        ObjectNode output = units.addObject();
        output.put("id", COMPONENT_ID);
        output.put("type", "output");
        output.put("status", s.state().name());
        output.put("message", s.message());
        return components;
    }

    private ObjectNode localMetadata() {
        ObjectNode meta = Json.object();
        ObjectNode agent = meta.putObject("elastic").putObject("agent");
        agent.put("id", settings.agentId());
        agent.put("version", settings.version());
        agent.put("snapshot", false);
        agent.put("build.original", settings.version() + " (fleet-server java)");
        agent.put("upgradeable", false);
        agent.put("log_level", settings.logLevel() == null ? "info" : settings.logLevel());
        agent.put("unprivileged", !"root".equals(System.getProperty("user.name")));
        agent.put("fips", false);
        agent.put("complete", false);
        meta.set("host", settings.host().hostJson());
        meta.set("os", settings.host().osJson());
        return meta;
    }
}
