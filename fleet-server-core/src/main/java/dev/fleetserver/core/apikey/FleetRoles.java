package dev.fleetserver.core.apikey;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;

/**
 * The role descriptors Fleet gives its own API keys: a single role granting the application privilege
 * {@code fleet/no-privileges}, so the key proves identity and can do nothing else in Elasticsearch.
 */
public final class FleetRoles {
    private FleetRoles() {
    }

    /** {@code fleet-apikey-access}: an agent's access key (the original's role descriptor). */
    public static ObjectNode access() {
        return noPrivileges("fleet-apikey-access", false);
    }

    /** {@code fleet-apikey-enroll}: an enrollment key, as Kibana creates it. */
    public static ObjectNode enroll() {
        return noPrivileges("fleet-apikey-enroll", true);
    }

    private static ObjectNode noPrivileges(String roleName, boolean withIndexList) {
        ObjectNode roles = Json.object();
        ObjectNode role = roles.putObject(roleName);
        role.putArray("cluster");
        if (withIndexList) {
            role.putArray("index");
        }
        ObjectNode app = role.putArray("applications").addObject();
        app.put("application", "fleet");
        app.putArray("privileges").add("no-privileges");
        app.putArray("resources").add("*");
        return roles;
    }
}
