package dev.fleetserver.core.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.time.Duration;
import java.time.Instant;

/** Kibana's status of an agent, computed from its document and the time, as its Fleet UI shows it. */
public final class AgentStatus {
    private static final Duration OFFLINE_AFTER = Duration.ofMinutes(5);

    private AgentStatus() {
    }

    /**
     * Kibana's agent status from the document alone. An agent that reported itself uninstalled or orphaned
     * ({@code audit_unenrolled_reason}) is {@code uninstalled} / {@code orphaned} until its next checkin removes the
     * mark: after the unenrolled and inactive rules, before every rule about its checkins.
     */
    public static String of(Agent a, Instant now) {
        if (!a.active()) {
            return a.source().hasNonNull("unenrolled_at") ? "unenrolled" : "inactive";
        }
        String audit = Json.text(a.source(), "audit_unenrolled_reason");
        if ("uninstall".equals(audit)) {
            return "uninstalled";
        }
        if ("orphaned".equals(audit)) {
            return "orphaned";
        }
        if (a.source().hasNonNull("unenrollment_started_at")) {
            return "unenrolling";
        }
        Instant last = Times.parse(Json.text(a.source(), "last_checkin"));
        if (last == null) {
            return "enrolling";
        }
        if (last.plus(OFFLINE_AFTER).isBefore(now)) {
            return "offline";
        }
        if (upgrading(a)) {
            return "updating";
        }
        String s = a.lastCheckinStatus() == null ? "" : a.lastCheckinStatus().toLowerCase(java.util.Locale.ROOT);
        return switch (s) {
            case "error", "failed" -> "error";
            case "degraded" -> "degraded";
            default -> "online";
        };
    }

    /** An upgrade was started and has neither finished nor failed. */
    private static boolean upgrading(Agent a) {
        JsonNode details = a.source().get("upgrade_details");
        if (details != null && details.isObject()) {
            String state = details.path("state").asText("");
            return !state.equals("UPG_FAILED") && !state.equals("UPG_COMPLETED");
        }
        return a.source().hasNonNull("upgrade_started_at");
    }

}
