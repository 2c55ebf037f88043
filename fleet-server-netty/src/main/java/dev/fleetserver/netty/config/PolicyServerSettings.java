package dev.fleetserver.netty.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the fleet-server input of a Fleet Server policy says about the server, read with the same rules as
 * {@code inputs[0]} of the file: {@code server.limits.*}, which the server applies while running, and the other
 * {@code server.*} settings, which it reads only from its file at start.
 *
 * @param limits      {@code server.limits}, every field the policy does not set unset (so that
 *                    {@link LimitsConfig#overlay} keeps the file's)
 * @param restartOnly the full paths of the other {@code server.*} settings the policy sets, e.g.
 *                    {@code server.timeouts}; {@code server.host} and {@code server.port} only when they differ from
 *                    the file's (Kibana's integration writes them into every policy)
 */
public record PolicyServerSettings(LimitsConfig limits, List<String> restartOnly) {

    /** Settings the original takes from the policy and that mean nothing to a JVM (Go's garbage collector). */
    static final List<String> NOT_APPLICABLE = List.of("runtime");

    /**
     * Reads the input (as it is in the policy: {@code data.inputs[i]} of type {@code fleet-server}).
     *
     * @throws ConfigException when {@code server.limits} holds an unknown key or a bad value (the message names it)
     */
    public static PolicyServerSettings read(JsonNode input, ServerConfig file) {
        Section root = Section.root(input, Map.of(), new ArrayList<>());
        Section server = root.section("server");
        LimitsConfig limits = LimitsConfig.read(server.section("limits"));
        List<String> restartOnly = new ArrayList<>();
        for (String key : server.keys()) {
            if (key.equals("limits") || NOT_APPLICABLE.contains(key)
                    || key.equals("host") && file.host().equals(server.optionalString("host"))
                    || key.equals("port") && String.valueOf(file.port()).equals(server.optionalString("port"))) {
                continue;
            }
            restartOnly.add(server.pathOf(key));
        }
        return new PolicyServerSettings(limits, List.copyOf(restartOnly));
    }
}
