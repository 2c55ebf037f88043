package dev.fleetserver.netty.command;

import dev.fleetserver.core.manage.EnrollmentKeyAdminService;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.store.DocumentStore;
import dev.fleetserver.core.store.embedded.SqliteDocumentStore;
import dev.fleetserver.core.util.Futures;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsConfig;
import dev.fleetserver.es.store.EsDocumentStore;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.config.OutputConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code fleet-server enrollment-token [--policy ID] [--config FILE] [--data-dir DIR]}: prints an active
 * enrollment token of a policy ({@code default} unless {@code --policy}), read from the embedded store or from
 * Elasticsearch, whichever the configuration uses. Only reads; creates nothing.
 */
public final class EnrollmentTokenCommand {
    public static final String NAME = "enrollment-token";

    private EnrollmentTokenCommand() {
    }

    static int run(FleetServerConfig config, String policyId, PrintStream out, PrintStream err) {
        Optional<String> token;
        try {
            token = config.output().isConfigured() ? fromElasticsearch(config, policyId) : fromEmbedded(config, policyId);
        } catch (ConfigException e) {
            throw e;
        } catch (Exception e) {
            err.println("fleet-server: cannot read enrollment keys: " + message(e));
            return 1;
        }
        if (token.isEmpty()) {
            err.println("fleet-server: policy \"" + policyId + "\" has no active enrollment key; create one with the "
                    + "management API (POST /api/fleet/enrollment_api_keys {\"policy_id\":\"" + policyId + "\"}) or in Kibana");
            return 1;
        }
        out.println(token.get());
        return 0;
    }

    private static Optional<String> fromEmbedded(FleetServerConfig config, String policyId) throws Exception {
        Path dataDir = config.embedded().dataDir();
        try (SqliteDocumentStore store = SqliteDocumentStore.openReadOnly(dataDir)) {
            return find(store, policyId);
        }
    }

    private static Optional<String> fromElasticsearch(FleetServerConfig config, String policyId) throws Exception {
        OutputConfig out = config.output();
        String serviceToken = FleetDaemon.serviceToken(config);
        EsClient client;
        try {
            client = new EsClient(new EsConfig(out.hosts(), out.protocol(), serviceToken, out.caFiles(), out.headers(),
                    out.timeout()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("output.elasticsearch: " + e.getMessage(), e);
        }
        try (client; EsDocumentStore store = new EsDocumentStore(client, EsDocumentStore.BulkSettings.defaults())) {
            return find(store, policyId);
        }
    }

    private static Optional<String> find(DocumentStore store, String policyId) throws Exception {
        return EnrollmentKeyAdminService.activeEnrollmentToken(new FleetRepository(store), policyId).get(60, TimeUnit.SECONDS);
    }

    private static String message(Exception e) {
        Throwable t = Futures.unwrap(e);
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
