package dev.fleetserver.netty.e2e;

import dev.fleetserver.es.testing.ElasticsearchTestCluster;

/**
 * The console's browser tests again with the server on a real Elasticsearch (the one the JVM's tests share): the
 * test's policy, token and agent are its own, so what other tests left in the cluster does not count.
 */
class ConsoleBrowserOnElasticsearchTest extends ConsoleBrowserTest {
    private final ElasticsearchTestCluster cluster = ElasticsearchTestCluster.shared();

    @Override
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.onElasticsearch(() -> cluster);
    }
}
