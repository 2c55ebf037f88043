package dev.fleetserver.core.apikey;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where the API keys of a policy output come from: the port behind which output keys are issued, so core decides
 * <em>when</em> an agent needs a key and never <em>how</em> a cluster is reached.
 *
 * <p>{@code elasticsearch} outputs get their keys from the cluster this server runs on (as the original, which
 * assumes that output is the same cluster); {@code remote_elasticsearch} outputs from the remote cluster their
 * {@code hosts} name, authenticated with their {@code service_token}. {@link #none()} issues no keys at all: outputs
 * are then delivered as written in the policy (the embedded store, which has no Elasticsearch to issue keys in).
 */
public interface OutputKeys {

    /**
     * The key port for an output of a policy, or empty when this server issues no keys for it.
     *
     * @param name   the output's name (its key in the policy's {@code outputs})
     * @param output the output as the agent would get it before any change, secrets resolved (so a remote output's
     *               {@code service_token} is in clear)
     */
    Optional<ApiKeys> forOutput(String name, ObjectNode output);

    /**
     * The key port an output of this name last used, to invalidate its keys after the output changed or left every
     * policy; when this server has not seen the output since it started, the local cluster's.
     */
    Optional<ApiKeys> forRetired(String name);

    /** False only for {@link #none()}: then deliveries never look at agents' output keys. */
    default boolean issuesKeys() {
        return true;
    }

    /** No output keys: every output is delivered unchanged. */
    static OutputKeys none() {
        return new OutputKeys() {
            @Override
            public boolean issuesKeys() {
                return false;
            }

            @Override
            public Optional<ApiKeys> forOutput(String name, ObjectNode output) {
                return Optional.empty();
            }

            @Override
            public Optional<ApiKeys> forRetired(String name) {
                return Optional.empty();
            }
        };
    }

    /**
     * Keys of {@code elasticsearch} outputs from {@code local}, of {@code remote_elasticsearch} outputs from the
     * cluster {@code remotes} connects to (one connection per distinct hosts and token, kept for the server's life;
     * {@code null}: remote outputs get no keys).
     */
    static OutputKeys of(ApiKeys local, RemoteClusters remotes) {
        return new OutputKeys() {
            private final Map<RemoteCluster, ApiKeys> clusters = new ConcurrentHashMap<>();
            private final Map<String, ApiKeys> byName = new ConcurrentHashMap<>();

            @Override
            public Optional<ApiKeys> forOutput(String name, ObjectNode output) {
                String type = output.path("type").asText("");
                ApiKeys keys;
                if (type.equals("elasticsearch")) {
                    keys = local;
                } else if (type.equals("remote_elasticsearch") && remotes != null) {
                    List<String> hosts = new java.util.ArrayList<>();
                    output.path("hosts").forEach(h -> hosts.add(h.asText()));
                    String token = output.path("service_token").asText("");
                    if (hosts.isEmpty() || token.isEmpty()) {
                        return Optional.empty();
                    }
                    try {
                        keys = clusters.computeIfAbsent(new RemoteCluster(List.copyOf(hosts), token, output.deepCopy()),
                                remotes::connect);
                    } catch (RuntimeException e) {
                        // A malformed remote output costs that output its keys, never the whole policy.
                        org.slf4j.LoggerFactory.getLogger(OutputKeys.class)
                                .warn("output {}: remote cluster {} unusable, no keys for it: {}", name, hosts, e.toString());
                        return Optional.empty();
                    }
                } else {
                    return Optional.empty();
                }
                byName.put(name, keys);
                return Optional.of(keys);
            }

            @Override
            public Optional<ApiKeys> forRetired(String name) {
                return Optional.of(byName.getOrDefault(name, local));
            }
        };
    }

    /**
     * A remote cluster's identity: its hosts and the token. {@code output} carries the rest of the output's settings
     * (e.g. {@code ssl}) for the factory and takes no part in equality.
     */
    record RemoteCluster(List<String> hosts, String serviceToken, ObjectNode output) {
        @Override
        public boolean equals(Object o) {
            return o instanceof RemoteCluster r && r.hosts.equals(hosts) && r.serviceToken.equals(serviceToken);
        }

        @Override
        public int hashCode() {
            return hosts.hashCode() * 31 + serviceToken.hashCode();
        }

        @Override
        public String toString() {
            return "RemoteCluster" + hosts;
        }
    }

    /** Connects to remote clusters (an HTTP client in the Elasticsearch module; core has none). */
    @FunctionalInterface
    interface RemoteClusters {
        ApiKeys connect(RemoteCluster cluster);
    }
}
