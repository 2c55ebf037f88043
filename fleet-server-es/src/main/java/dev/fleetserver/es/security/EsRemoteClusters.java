package dev.fleetserver.es.security;

import dev.fleetserver.core.apikey.ApiKeys;
import dev.fleetserver.core.apikey.OutputKeys;
import dev.fleetserver.es.client.EsClient;
import dev.fleetserver.es.client.EsConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Connects to the clusters of {@code remote_elasticsearch} outputs, to create agents' output keys there with the
 * output's {@code service_token}. Each connection is a small client of its own (a few connections, at most
 * {@code maxConcurrent} key calls at once), closed with this factory. Hosts are used as written in the output (a bare
 * {@code host:port} means {@code http}); the JVM's trusted certificate authorities apply.
 */
public final class EsRemoteClusters implements OutputKeys.RemoteClusters, AutoCloseable {
    private final Duration timeout;
    private final int maxConcurrent;
    private final List<EsClient> clients = new CopyOnWriteArrayList<>();

    public EsRemoteClusters(Duration timeout, int maxConcurrent) {
        this.timeout = timeout;
        this.maxConcurrent = maxConcurrent;
    }

    @Override
    public ApiKeys connect(OutputKeys.RemoteCluster cluster) {
        EsClient client = new EsClient(new EsConfig(cluster.hosts(), "http", cluster.serviceToken(), List.of(), Map.of(), timeout));
        clients.add(client);
        return new EsApiKeys(client, maxConcurrent);
    }

    @Override
    public void close() {
        clients.forEach(EsClient::close);
        clients.clear();
    }
}
