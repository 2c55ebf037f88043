package dev.fleetserver.netty.e2e;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import dev.fleetserver.netty.FleetDaemon;
import dev.fleetserver.netty.config.ConfigLoader;
import dev.fleetserver.netty.config.FleetServerConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Boots the real daemon (embedded store in a temporary directory, both listeners on ephemeral loopback ports) the way
 * {@code main} does, with test-friendly timing: short long polls without jitter and cheap replace-token hashing.
 */
public final class TestFleet {
    private TestFleet() {
    }

    /**
     * The daemon on Elasticsearch: {@code output.elasticsearch} pointing at the cluster with its service token, the
     * same test timing as {@link #start(Path, Consumer)}.
     */
    public static FleetDaemon startOnElasticsearch(Path dataDir, ElasticsearchTestCluster cluster,
                                                   Consumer<ObjectNode> tweak) throws Exception {
        return start(dataDir, server -> tweak.accept(server), elasticsearchOutput(cluster));
    }

    /** A root tweak adding {@code output.elasticsearch}: {@code cluster}'s address and its service token. */
    public static Consumer<ObjectNode> elasticsearchOutput(ElasticsearchTestCluster cluster) {
        return root -> {
            ObjectNode es = root.putObject("output").putObject("elasticsearch");
            es.putArray("hosts").add(cluster.httpUri());
            es.put("service_token", cluster.serviceToken());
        };
    }

    public static FleetDaemon start(Path dataDir) throws Exception {
        return start(dataDir, server -> { });
    }

    /** @param rootTweak may add top-level sections (e.g. {@code http}, {@code logging}) before start */
    public static FleetDaemon startWithRoot(Path dataDir, Consumer<ObjectNode> rootTweak) throws Exception {
        return start(dataDir, server -> { }, rootTweak);
    }

    /** @param tweak may change {@code inputs[0].server} before start (e.g. timeouts) */
    public static FleetDaemon start(Path dataDir, Consumer<ObjectNode> tweak) throws Exception {
        return start(dataDir, tweak, root -> { });
    }

    private static FleetDaemon start(Path dataDir, Consumer<ObjectNode> tweak, Consumer<ObjectNode> rootTweak) throws Exception {
        return FleetDaemon.start(config(dataDir, tweak, rootTweak));
    }

    /** The configuration {@link #start(Path, Consumer)} uses, for tests that start the daemon their own way. */
    public static FleetServerConfig config(Path dataDir, Consumer<ObjectNode> tweak, Consumer<ObjectNode> rootTweak) {
        return config(dataDir, tweak, rootTweak, input -> { });
    }

    /** As {@link #config(Path, Consumer, Consumer)}, with {@code inputTweak} given {@code inputs[0]} (e.g. {@code policy.id}). */
    public static FleetServerConfig config(Path dataDir, Consumer<ObjectNode> tweak, Consumer<ObjectNode> rootTweak,
                                           Consumer<ObjectNode> inputTweak) {
        ObjectNode root = Json.object();
        rootTweak.accept(root);
        ObjectNode input = root.putArray("inputs").addObject();
        input.put("type", "fleet-server");
        inputTweak.accept(input);
        ObjectNode server = input.putObject("server");
        server.put("host", "127.0.0.1");
        server.put("port", 0);
        ObjectNode timeouts = server.putObject("timeouts");
        timeouts.put("checkin_long_poll", "3s");
        timeouts.put("checkin_jitter", "0s");
        timeouts.put("drain", "5s");
        server.putObject("pdkdf2").put("iterations", 1000);
        tweak.accept(server);
        ObjectNode management = root.has("management") ? (ObjectNode) root.get("management") : root.putObject("management");
        management.put("host", "127.0.0.1");
        management.put("port", 0);
        return ConfigLoader.load(root, Map.of("data-dir", dataDir.toString()), Map.of());
    }
}
