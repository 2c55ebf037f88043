package dev.fleetserver.core.file;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where files delivered to agents ({@code GET /api/fleet/file/{id}}) are kept: the {@code .fleet-fileds-tohost-*}
 * data streams on Elasticsearch (written by Kibana), or the data directory on the embedded store. A file whose
 * metadata is found but whose data is not fails with {@code NO_FILE}.
 */
public interface DeliveryStore {

    /** The READY file {@code fileId} whose {@code file.Meta.target_agents} holds {@code agentId}, or empty. */
    CompletableFuture<Optional<DeliveryFile>> forAgent(String fileId, String agentId);

    /**
     * A file of an integration's library ({@code .<integration>-fleetfiles-<library>-meta}), or empty when there is
     * no such file.
     */
    CompletableFuture<Optional<DeliveryFile>> fromLibrary(String integration, String library, String fileId);

    /** A store without files. */
    DeliveryStore NONE = new DeliveryStore() {
        @Override
        public CompletableFuture<Optional<DeliveryFile>> forAgent(String fileId, String agentId) {
            return CompletableFuture.completedFuture(Optional.empty());
        }

        @Override
        public CompletableFuture<Optional<DeliveryFile>> fromLibrary(String integration, String library, String fileId) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
    };
}
