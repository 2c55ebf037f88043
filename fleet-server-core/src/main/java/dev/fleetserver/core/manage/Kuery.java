package dev.fleetserver.core.manage;

import dev.fleetserver.core.agent.AgentStatus;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.Agent;
import dev.fleetserver.core.store.Query;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The part of Kibana's KQL that agent lists are filtered with: {@code field:value} clauses joined by {@code and}, on
 * {@code status} (computed), {@code policy_id}, {@code tags}, {@code agent.version}, {@code active} and other plain
 * agent fields; a {@code fleet-agents.} prefix is accepted. Anything else is a 400 naming what was not understood.
 */
final class Kuery {
    private static final Pattern CLAUSE = Pattern.compile("^\\s*([A-Za-z0-9_.@-]+)\\s*:\\s*(\"([^\"]*)\"|([^\\s\"]+))\\s*$");

    private final List<String[]> clauses;

    private Kuery(List<String[]> clauses) {
        this.clauses = clauses;
    }

    static Kuery parse(String kuery) {
        List<String[]> out = new ArrayList<>();
        if (kuery == null || kuery.isBlank()) {
            return new Kuery(out);
        }
        for (String part : kuery.split("(?i)\\s+and\\s+")) {
            String p = part.trim();
            while (p.startsWith("(") && p.endsWith(")")) {
                p = p.substring(1, p.length() - 1).trim();
            }
            Matcher m = CLAUSE.matcher(p);
            if (!m.matches()) {
                throw new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "kuery: cannot understand \"" + part.trim()
                        + "\" (supported: field:value clauses joined by and)");
            }
            String field = m.group(1).startsWith("fleet-agents.") ? m.group(1).substring("fleet-agents.".length()) : m.group(1);
            out.add(new String[] {field, m.group(3) != null ? m.group(3) : m.group(4)});
        }
        return new Kuery(out);
    }

    /** Adds the store-side filters to {@code q}. */
    Query apply(Query q) {
        for (String[] c : clauses) {
            if (c[0].equals("status")) {
                continue;
            }
            if (c[0].equals("active")) {
                q.term("active", Boolean.parseBoolean(c[1]));
            } else {
                q.term(c[0], c[1]);
            }
        }
        return q;
    }

    /** Whether a clause is on a computed field ({@code status}), which the store cannot filter on. */
    boolean computed() {
        return clauses.stream().anyMatch(c -> c[0].equals("status"));
    }

    /** The computed-field part ({@code status}), checked on each agent. */
    boolean matchesComputed(Agent agent, Instant now) {
        for (String[] c : clauses) {
            if (c[0].equals("status") && !AgentStatus.of(agent, now).equals(c[1].toLowerCase(Locale.ROOT))) {
                return false;
            }
        }
        return true;
    }
}
