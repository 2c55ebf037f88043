package dev.fleetserver.core.file;

import dev.fleetserver.core.auth.AgentAuthenticator;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.DocumentIds;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * {@code GET /api/fleet/file/{id}[?source=<library>]}: finds the file an agent asks for, as the original does. The
 * agent is found by its access key. Without {@code source} the file must be READY and targeted at the agent
 * ({@code file.Meta.target_agents}); with it, the file comes from an integration's library, and the client must name
 * an integration allowed to read libraries in {@code X-elastic-product-origin} ({@code endpoint-security}, for
 * Elastic Defend's {@code endpoint}).
 */
public final class FileDeliveryService {
    /** Clients allowed to read library files, by product origin, and the integration whose library they read. */
    static final Map<String, String> LIBRARY_CLIENTS = Map.of("endpoint-security", "endpoint");
    /** What the original strips from index-name inputs. */
    private static final Pattern BAD_INDEX_CHARS = Pattern.compile("[*?\"<>\\\\/,|#]");

    private final AgentAuthenticator auth;
    private final DeliveryStore store;

    public FileDeliveryService(AgentAuthenticator auth, DeliveryStore store) {
        this.auth = auth;
        this.store = store;
    }

    /**
     * The file, once the agent is authenticated and allowed to have it. Fails with AgentNotFound (unknown key),
     * ErrClientFileForbidden (a library file for a client not on the allow-list), ErrNoFile (no such file for this
     * agent, or its data is missing), ErrFileForDeliveryNotFound (no such library file).
     *
     * @param source        the {@code source} query parameter, or null
     * @param productOrigin the {@code X-elastic-product-origin} header, or null
     */
    public CompletableFuture<DeliveryFile> find(List<String> authorization, String fileId, String source, String productOrigin) {
        return auth.authenticateAgentByKey(authorization).thenCompose(agent -> {
            DocumentIds.require("file id", fileId);
            String library = sanitized(source);
            if (library.isEmpty()) {
                return store.forAgent(fileId, agent.id()).thenApply(f -> f.orElseThrow(() -> new FleetException(FleetError.NO_FILE)));
            }
            String client = sanitized(productOrigin);
            String integration = LIBRARY_CLIENTS.get(client);
            if (integration == null) {
                throw new FleetException(FleetError.CLIENT_FILE_FORBIDDEN);
            }
            return store.fromLibrary(integration, library, fileId)
                    .thenApply(f -> f.orElseThrow(() -> new FleetException(FleetError.FILE_FOR_DELIVERY_NOT_FOUND)));
        });
    }

    /** Lower-cased, trimmed, without the characters an index name may not have (as the original). */
    static String sanitized(String s) {
        return s == null ? "" : BAD_INDEX_CHARS.matcher(s.trim().toLowerCase(Locale.ROOT)).replaceAll("");
    }
}
