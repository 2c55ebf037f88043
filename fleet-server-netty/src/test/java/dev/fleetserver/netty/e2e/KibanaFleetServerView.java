package dev.fleetserver.netty.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.es.testing.ElasticsearchTestCluster;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What Kibana's Fleet UI concludes about Fleet Servers from {@code .fleet-agents}, computed the way Kibana does it but
 * without painless (the test cluster has none): its {@code hasFleetServersForPolicies} reads the agents whose
 * {@code policy_id} is a Fleet Server policy and buckets them by the status its runtime field gives; the rules are
 * Kibana's, in its order, with {@code now} as Kibana's clock.
 */
final class KibanaFleetServerView {
    /** Kibana's offline threshold: ten polling thresholds of 30 s. */
    static final long OFFLINE_AFTER_MILLIS = 300_000;

    private KibanaFleetServerView() {
    }

    /** The agent documents of a policy, as Kibana's kuery {@code policy_id:"<id>"} selects them. */
    static List<JsonNode> agentsOf(ElasticsearchTestCluster cluster, String policyId) throws Exception {
        cluster.request("POST", "/.fleet-agents/_refresh", null);
        JsonNode hits = Json.MAPPER.readTree(cluster.request("POST", "/.fleet-agents/_search",
                "{\"size\":100,\"query\":{\"term\":{\"policy_id\":\"" + policyId + "\"}}}")).at("/hits/hits");
        List<JsonNode> out = new ArrayList<>();
        hits.forEach(h -> out.add(h.get("_source")));
        return out;
    }

    /** The status buckets of those agents at {@code now}, as the terms aggregation over the runtime field gives them. */
    static Map<String, Integer> statuses(List<JsonNode> agents, Instant now) {
        Map<String, Integer> buckets = new TreeMap<>();
        agents.forEach(a -> buckets.merge(status(a, now), 1, Integer::sum));
        return buckets;
    }

    /** {@code hasFleetServersForPolicies(…, activeOnly = true)}: online + updating + enrolling + unenrolling > 0. */
    static boolean hasActive(Map<String, Integer> statuses) {
        return statuses.getOrDefault("online", 0) + statuses.getOrDefault("updating", 0)
                + statuses.getOrDefault("enrolling", 0) + statuses.getOrDefault("unenrolling", 0) > 0;
    }

    /** One agent's status by Kibana's rules (no inactivity timeout configured). */
    static String status(JsonNode a, Instant now) {
        long lastCheckin = a.hasNonNull("last_checkin") ? millis(a.get("last_checkin"))
                : a.hasNonNull("enrolled_at") ? millis(a.get("enrolled_at")) : -1;
        if (!a.has("active") || !a.get("active").asBoolean()) {
            return "unenrolled";
        }
        String audit = a.path("audit_unenrolled_reason").asText("");
        if (audit.equals("uninstall")) {
            return "uninstalled";
        }
        if (audit.equals("orphaned")) {
            return "orphaned";
        }
        if (lastCheckin > 0 && lastCheckin < now.toEpochMilli() - OFFLINE_AFTER_MILLIS) {
            return "offline";
        }
        if (!a.hasNonNull("policy_revision_idx") || a.hasNonNull("upgrade_started_at") && !a.hasNonNull("upgraded_at")) {
            return "updating";
        }
        if (!a.hasNonNull("last_checkin")) {
            return "enrolling";
        }
        if (a.hasNonNull("unenrollment_started_at")) {
            return "unenrolling";
        }
        String reported = a.path("last_checkin_status").asText("").toLowerCase(java.util.Locale.ROOT);
        if (reported.equals("error")) {
            return "error";
        }
        if (reported.equals("degraded")) {
            return "degraded";
        }
        return "online";
    }

    private static long millis(JsonNode time) {
        return time.isNumber() ? time.asLong() : Instant.parse(time.asText()).toEpochMilli();
    }
}
