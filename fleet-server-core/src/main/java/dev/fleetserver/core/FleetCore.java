package dev.fleetserver.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.ack.AckService;
import dev.fleetserver.core.action.ActionGc;
import dev.fleetserver.core.action.ActionMonitor;
import dev.fleetserver.core.action.ActionSecrets;
import dev.fleetserver.core.agent.AgentKeyRevoker;
import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.core.artifact.ArtifactAdminService;
import dev.fleetserver.core.artifact.ArtifactService;
import dev.fleetserver.core.audit.AuditService;
import dev.fleetserver.core.auth.AgentAuthenticator;
import dev.fleetserver.core.auth.ApiKeyAuthenticator;
import dev.fleetserver.core.auth.UserAgentCheck;
import dev.fleetserver.core.checkin.CheckinBulker;
import dev.fleetserver.core.checkin.CheckinService;
import dev.fleetserver.core.enroll.EnrollService;
import dev.fleetserver.core.enroll.ReplaceTokenHasher;
import dev.fleetserver.core.file.DeliveryStore;
import dev.fleetserver.core.file.FileDeliveryService;
import dev.fleetserver.core.longpoll.CheckinRegistry;
import dev.fleetserver.core.manage.AgentAdminService;
import dev.fleetserver.core.manage.EnrollmentKeyAdminService;
import dev.fleetserver.core.manage.PolicyAdminService;
import dev.fleetserver.core.metrics.FleetMetrics;
import dev.fleetserver.core.metrics.MeteredDocumentStore;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.policy.AgentOutputKeys;
import dev.fleetserver.core.policy.PolicyMonitor;
import dev.fleetserver.core.secret.IndexSecretStore;
import dev.fleetserver.core.secret.SecretStore;
import dev.fleetserver.core.self.HealthSignals;
import dev.fleetserver.core.self.SelfMonitor;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.upload.UploadService;
import dev.fleetserver.core.upload.UploadStore;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Scheduler;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * All of core, wired: the services the HTTP layer calls and the background machinery (policy and action feeds,
 * checkin flushes). Depends only on the two ports, a clock and a scheduler.
 */
public final class FleetCore implements AutoCloseable {
    /** The policy a fresh installation enrolls agents into. */
    public static final String DEFAULT_POLICY_ID = "default";

    private final FleetRepository repo;
    private final Clock clock;
    private final HealthSignals health;
    private SelfMonitor self;
    private final ExecutorService worker;
    private final AgentAuthenticator auth;
    private final EnrollService enroll;
    private final CheckinService checkin;
    private final AckService acks;
    private final AuditService audit;
    private final PolicyAdminService policyAdmin;
    private final EnrollmentKeyAdminService enrollmentKeyAdmin;
    private final AgentAdminService agentAdmin;
    private final StatusService status;
    private final PolicyMonitor policies;
    private final ActionMonitor actions;
    private final ActionGc actionGc;
    private final CoreSettings settings;
    /** Null when this server keeps no uploads (then the upload endpoints answer that the feature is disabled). */
    private final UploadService uploads;
    private final Scheduler scheduler;
    private final ArtifactService artifacts;
    private final ArtifactAdminService artifactAdmin;
    private final DeliveryStore deliveryStore;
    private final FileDeliveryService fileDelivery;
    /** Which steps of {@link #startUp()} completed, so that a retried start does not repeat them. */
    private volatile boolean policiesStarted;
    private volatile boolean actionsStarted;
    private volatile boolean backgroundStarted;

    public FleetCore(DocumentStore store, ApiKeys apiKeys, CoreSettings settings, Clock clock, Scheduler scheduler) {
        this(store, apiKeys, new IndexSecretStore(store), settings, clock, scheduler);
    }

    /** Without output keys: policies are delivered with their outputs as written (the embedded store). */
    public FleetCore(DocumentStore store, ApiKeys apiKeys, SecretStore secretStore, CoreSettings settings, Clock clock,
                     Scheduler scheduler) {
        this(store, apiKeys, secretStore, settings, clock, scheduler, OutputKeys.none(), FleetMetrics.NONE);
    }

    /**
     * @param outputKeys where each agent's output API keys come from; {@link OutputKeys#none()} sends outputs as
     *                   written in the policy, with no {@code api_key} added
     * @param metrics    where fan-out latencies go; store latencies are measured by wrapping {@code store}
     */
    public FleetCore(DocumentStore store, ApiKeys apiKeys, SecretStore secretStore, CoreSettings settings, Clock clock,
                     Scheduler scheduler, OutputKeys outputKeys, FleetMetrics metrics) {
        this(store, apiKeys, secretStore, settings, clock, scheduler, outputKeys, metrics, null, null, DeliveryStore.NONE);
    }

    /**
     * @param uploadStore        where files agents upload are kept; null to refuse uploads
     * @param maxFileStorageSize largest file an agent may upload ({@code limits.max_file_storage_size}); null for no
     *                           limit, 0 to refuse every upload
     * @param files              where files delivered to agents are found ({@link DeliveryStore#NONE}: nowhere)
     */
    public FleetCore(DocumentStore store, ApiKeys apiKeys, SecretStore secretStore, CoreSettings settings, Clock clock,
                     Scheduler scheduler, OutputKeys outputKeys, FleetMetrics metrics, UploadStore uploadStore,
                     Long maxFileStorageSize, DeliveryStore files) {
        this.settings = settings;
        this.scheduler = scheduler;
        this.clock = clock;
        this.health = new HealthSignals(clock);
        // Every store call core makes tells the health signals how the store is doing.
        store = new MeteredDocumentStore(store, health);
        this.repo = new FleetRepository(store);
        AtomicInteger n = new AtomicInteger();
        this.worker = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "fleet-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        ApiKeyAuthenticator keyCache = new ApiKeyAuthenticator(apiKeys, clock, settings.apiKeyTtl(), settings.apiKeyJitter(),
                settings.apiKeyCacheSize());
        this.auth = new AgentAuthenticator(keyCache, repo);
        UserAgentCheck userAgents = new UserAgentCheck(FleetVersion.VERSION);
        this.enroll = new EnrollService(auth, keyCache, apiKeys, repo, userAgents,
                new ReplaceTokenHasher(settings.pbkdf2Iterations(), settings.pbkdf2KeyLength(), settings.pbkdf2SaltLength()),
                clock, worker);
        CheckinRegistry registry = new CheckinRegistry();
        AgentOutputKeys agentOutputKeys = new AgentOutputKeys(repo, outputKeys, clock);
        this.policies = new PolicyMonitor(repo, registry, secretStore, scheduler, outputKeys, agentOutputKeys, metrics);
        ActionSecrets actionSecrets = new ActionSecrets(secretStore);
        this.actions = new ActionMonitor(repo, registry, actionSecrets, clock, scheduler, metrics);
        this.checkin = new CheckinService(repo, userAgents, policies, agentOutputKeys, actions, actionSecrets, new CheckinBulker(repo, clock), registry,
                settings.checkin(), clock, scheduler);
        this.actionGc = new ActionGc(repo, clock, scheduler, java.time.Duration.ofHours(1), java.time.Duration.ofDays(30));
        AgentKeyRevoker keyRevoker = new AgentKeyRevoker(repo, apiKeys, keyCache, outputKeys, clock);
        this.acks = new AckService(repo, keyRevoker, agentOutputKeys.issuesKeys() ? agentOutputKeys : null, clock);
        this.audit = new AuditService(repo, clock);
        this.agentAdmin = new AgentAdminService(repo, keyRevoker, clock);
        this.enrollmentKeyAdmin = new EnrollmentKeyAdminService(repo, apiKeys, clock);
        this.policyAdmin = new PolicyAdminService(repo, enrollmentKeyAdmin, clock, settings.defaultOutputs());
        this.status = new StatusService(auth, health);
        this.uploads = uploadStore == null ? null
                : new UploadService(uploadStore, repo, auth, clock, maxFileStorageSize);
        this.artifacts = new ArtifactService(auth, policies, repo, settings.artifactCache());
        this.artifactAdmin = new ArtifactAdminService(repo, artifacts, clock);
        this.deliveryStore = files;
        this.fileDelivery = new FileDeliveryService(auth, files);
    }

    /**
     * Starts the feeds, creates the default policy and an enrollment key for it when the store has no policy at all
     * (a cluster managed by Kibana is never given one), and reports HEALTHY. Completes with an enrollment token of
     * the {@code default} policy, or {@code null} when that policy does not exist.
     */
    public CompletableFuture<String> start() {
        return startUp().thenApply(Started::enrollmentToken);
    }

    /**
     * What {@link #start()} found or made.
     *
     * @param enrollmentToken        a token of the {@code default} policy, or null when that policy does not exist
     * @param enrollmentTokenCreated whether its key was created by this start (a fresh installation)
     */
    public record Started(String enrollmentToken, boolean enrollmentTokenCreated) {
    }

    /**
     * As {@link #start()}, also saying whether the enrollment key was created now. May be called again after it
     * failed (the store was unreachable): steps that completed are not repeated, so no feed or timer runs twice.
     * Not to be called concurrently.
     */
    public CompletableFuture<Started> startUp() {
        return repo.latestPolicies()
                .thenCompose(existing -> existing.isEmpty()
                        ? policyAdmin.ensurePolicy(defaultPolicyBody())
                        : CompletableFuture.completedFuture(null))
                .thenCompose(v -> policiesStarted ? CompletableFuture.completedFuture(null)
                        : policies.start().thenRun(() -> policiesStarted = true))
                .thenCompose(v -> actionsStarted ? CompletableFuture.completedFuture(null)
                        : actions.start().thenRun(() -> actionsStarted = true))
                .thenRun(() -> {
                    if (!backgroundStarted) {
                        backgroundStarted = true;
                        checkin.start();
                        actionGc.start();
                        if (uploads != null) {
                            uploads.start(scheduler);
                        }
                    }
                })
                .thenCompose(v -> repo.latestPolicy(DEFAULT_POLICY_ID))
                .thenCompose(p -> p.isPresent()
                        ? enrollmentKeyAdmin.ensureEnrollmentKey(DEFAULT_POLICY_ID)
                        : CompletableFuture.<EnrollmentKeyAdminService.EnrollmentToken>completedFuture(null))
                .thenApply(token -> {
                    status.state(StatusService.State.HEALTHY);
                    return token == null ? new Started(null, false) : new Started(token.token(), token.created());
                });
    }

    /**
     * Registers the server as an agent of its Fleet Server policy and keeps that document fresh (see
     * {@link SelfMonitor}); call once {@link #startUp()} completed. {@code onPolicy} hears what every heartbeat found
     * (the policy's fleet-server input, whose settings the server applies).
     */
    public synchronized SelfMonitor startSelf(SelfMonitor.Settings selfSettings,
                                              java.util.function.Consumer<SelfMonitor.Snapshot> onPolicy) {
        if (self == null) {
            self = new SelfMonitor(repo, health, scheduler, clock, selfSettings);
            self.onPolicy(onPolicy);
            policies.onRevision(self::policyRevision);
            self.start();
        }
        return self;
    }

    /** The server's own agent, or null when {@link #startSelf} was not called. */
    public SelfMonitor self() {
        return self;
    }

    /** Store failures and load shedding, as they make the server degraded. */
    public HealthSignals health() {
        return health;
    }

    /** Answers parked checkins, flushes pending writes, stops the feeds. The store stays open (its owner closes it). */
    public CompletableFuture<Void> stop() {
        synchronized (this) {
            if (self != null) {
                self.stop();
            }
        }
        status.state(StatusService.State.STOPPING);
        policies.stop();
        actions.stop();
        actionGc.stop();
        if (uploads != null) {
            uploads.stop();
        }
        return checkin.stop().whenComplete((v, t) -> status.state(StatusService.State.STOPPED));
    }

    private ObjectNode defaultPolicyBody() {
        ObjectNode body = Json.object();
        body.put("id", DEFAULT_POLICY_ID);
        body.put("name", "Default policy");
        body.put("namespace", "default");
        body.set("outputs", settings.defaultOutputs().deepCopy());
        // What Kibana grants an output by default, so output API keys (when issued) can ship monitoring data.
        ObjectNode perms = body.putObject("output_permissions").putObject("default");
        perms.putObject("_elastic_agent_checks").putArray("cluster").add("monitor");
        body.putArray("inputs");
        return body;
    }

    public AgentAuthenticator auth() {
        return auth;
    }

    public EnrollService enroll() {
        return enroll;
    }

    public CheckinService checkin() {
        return checkin;
    }

    /** Live dispatch of new actions to parked checkins; its checkpoint is how far the server has seen actions. */
    public ActionMonitor actions() {
        return actions;
    }

    public AckService acks() {
        return acks;
    }

    /** Agents' audit/unenroll reports. */
    public AuditService audit() {
        return audit;
    }

    /** Agent policies, for the management API. */
    public PolicyAdminService policyAdmin() {
        return policyAdmin;
    }

    /** Enrollment keys, for the management API. */
    public EnrollmentKeyAdminService enrollmentKeyAdmin() {
        return enrollmentKeyAdmin;
    }

    /** Agents, for the management API. */
    public AgentAdminService agentAdmin() {
        return agentAdmin;
    }

    /** Files agents upload; null when this server keeps none. */
    public UploadService uploads() {
        return uploads;
    }

    public StatusService status() {
        return status;
    }

    /** What this server knows of policies: the latest prepared revision of each. */
    public PolicyMonitor policies() {
        return policies;
    }

    /** Elastic Defend's artifacts, for agents. */
    public ArtifactService artifacts() {
        return artifacts;
    }

    /** Artifacts, for the management API. */
    public ArtifactAdminService artifactAdmin() {
        return artifactAdmin;
    }

    /** Files delivered to agents. */
    public FileDeliveryService fileDelivery() {
        return fileDelivery;
    }

    /** Where delivered files are kept; a {@link dev.fleetserver.core.file.LocalFileStore} when files are published here. */
    public DeliveryStore deliveryStore() {
        return deliveryStore;
    }

    public FleetRepository repository() {
        return repo;
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
