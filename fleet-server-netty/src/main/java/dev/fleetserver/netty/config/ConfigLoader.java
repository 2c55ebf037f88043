package dev.fleetserver.netty.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.fleetserver.core.model.DocumentIds;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the server's configuration: a YAML file in the original Fleet Server's {@code fleet-server.yml} layout
 * (named by {@code --config}), overridden by command-line flags, with {@code ${VAR}} / {@code ${VAR:default}}
 * expanded from the environment in string values.
 *
 * <p>The file's layout is the original's, so an existing file loads unchanged: {@code output.elasticsearch.*},
 * {@code inputs[0]} ({@code type: fleet-server}, {@code policy.id}, {@code server.*}, {@code cache.*},
 * {@code monitor.*}), {@code fleet.agent.*}, {@code fleet.host.*}, {@code logging.*}, {@code http.*}. Our own
 * additions live under {@code management.*} and {@code embedded.*}. Every key the original knows is accepted;
 * those not implemented yet are listed by {@link FleetServerConfig#ignoredSettings()}. A key that exists nowhere,
 * a value of the wrong type or out of range, an unknown flag: each fails with a {@link ConfigException} naming the
 * setting, e.g. {@code inputs[0].server.port: expected an integer between 0 and 65535, got "abc"}.
 *
 * <p>{@code --help} is reported by throwing {@link HelpRequestedException} (a {@link ConfigException} whose
 * message is {@link #usage()}): {@code main} prints it to standard output and exits with status 0.
 */
public final class ConfigLoader {
    private static final String CONFIG = "config";
    private static final String DATA_DIR = "data-dir";
    private static final String HOST = "host";
    private static final String PORT = "port";
    private static final String MANAGEMENT_HOST = "management-host";
    private static final String MANAGEMENT_PORT = "management-port";
    private static final List<String> OVERRIDE_FLAGS = List.of(DATA_DIR, HOST, PORT, MANAGEMENT_HOST,
            MANAGEMENT_PORT);
    private static final List<String> ALL_FLAGS = List.of(CONFIG, DATA_DIR, HOST, PORT, MANAGEMENT_HOST,
            MANAGEMENT_PORT, "help");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private ConfigLoader() {
    }

    /** {@link #load(String[], Map)} with the process environment. */
    public static FleetServerConfig load(String[] args) {
        return load(args, System.getenv());
    }

    /**
     * Parses the command line, reads the file named by {@code --config} (all defaults without one) and applies
     * the other flags over it. Flags are {@code --name value} or {@code --name=value}; {@code -c} is the
     * original's short form of {@code --config}, {@code -h} of {@code --help}.
     *
     * @throws HelpRequestedException when {@code --help} or {@code -h} is given
     * @throws ConfigException        for an unknown flag, a missing or invalid value, an unreadable file, or any
     *                                invalid setting
     */
    public static FleetServerConfig load(String[] args, Map<String, String> env) {
        Map<String, String> flags = parseFlags(args);
        String file = flags.remove(CONFIG);
        JsonNode tree = null;
        if (file != null) {
            try {
                tree = readYaml(Path.of(file));
            } catch (InvalidPathException e) {
                throw new ConfigException("--config: invalid path " + Section.quote(file));
            }
        }
        return load(tree, flags, env);
    }

    /**
     * Builds the configuration from an already parsed file and flags.
     *
     * @param yamlTree the file's tree ({@link #readYaml}); null or a null node for "no file"
     * @param flags    override flags by name without the leading dashes ({@code "port" -> "9000"}): {@code host},
     *                 {@code port}, {@code management-host}, {@code management-port}, {@code data-dir}
     * @param env      environment for {@code ${VAR}} expansion
     * @throws ConfigException naming the first offending setting or flag
     */
    public static FleetServerConfig load(JsonNode yamlTree, Map<String, String> flags, Map<String, String> env) {
        Map<String, String> overrides = new LinkedHashMap<>();
        flags.forEach((name, value) -> {
            String bare = name.startsWith("--") ? name.substring(2) : name;
            if (!OVERRIDE_FLAGS.contains(bare)) {
                throw unknownFlag("--" + bare);
            }
            overrides.put(bare, value);
        });

        List<String> ignored = new ArrayList<>();
        Section root = Section.root(yamlTree, env, ignored);

        Section input = fleetServerInput(root);
        String type = input.string("type", "fleet-server");
        if (!type.equals("fleet-server")) {
            throw ConfigException.at(input.pathOf("type"), "expected \"fleet-server\", got " + Section.quote(type));
        }
        Section policy = input.section("policy");
        String policyId = policy.optionalString("id");
        policy.finish();
        ServerConfig server = ServerConfig.read(input.section("server"));
        CacheConfig cache = CacheConfig.read(input.section("cache"));
        input.ignoreSection("monitor", "fetch_size", "poll_timeout", "policy_debounce_time");
        // Keys elastic-agent puts on every input it renders from a policy.
        input.ignore("id", "name", "revision", "use_output", "meta", "data_stream", "package_policy_id");
        input.finish();

        Section fleet = root.section("fleet");
        Section agent = fleet.section("agent");
        String agentId = agent.optionalString("id");
        if (agentId != null && DocumentIds.problem("fleet.agent.id", agentId) != null) {
            throw ConfigException.at(agent.pathOf("id"), DocumentIds.problem("fleet.agent.id", agentId));
        }
        agent.ignore("version");
        Section agentLogging = agent.section("logging");
        String agentLevel = LoggingConfig.readLevel(agentLogging, "level", null);
        agentLogging.finish();
        agent.finish();
        fleet.ignoreSection("host", "id", "name");
        fleet.finish();

        OutputConfig output = OutputConfig.read(root.section("output"));
        HttpConfig http = HttpConfig.read(root.section("http"));
        LoggingConfig logging = LoggingConfig.read(root.section("logging"), agentLevel);
        ManagementConfig management = ManagementConfig.read(root.section("management"));
        EmbeddedConfig embedded = EmbeddedConfig.read(root.section("embedded"));
        // The original's own sample fleet-server.yml has a top-level runtime.gc_percent (which it never reads).
        root.ignoreSection("runtime", "gc_percent", "memory_limit");
        root.finish();

        if (overrides.containsKey(HOST) || overrides.containsKey(PORT)) {
            server = server.withAddress(hostFlag(overrides, HOST, server.host()),
                    portFlag(overrides, PORT, server.port()));
        }
        if (overrides.containsKey(MANAGEMENT_HOST) || overrides.containsKey(MANAGEMENT_PORT)) {
            management = management.withAddress(hostFlag(overrides, MANAGEMENT_HOST, management.host()),
                    portFlag(overrides, MANAGEMENT_PORT, management.port()));
        }
        if (overrides.containsKey(DATA_DIR)) {
            String dir = overrides.get(DATA_DIR);
            try {
                embedded = new EmbeddedConfig(Path.of(requireValue(DATA_DIR, dir)));
            } catch (InvalidPathException e) {
                throw new ConfigException("--data-dir: invalid path " + Section.quote(dir));
            }
        }
        return new FleetServerConfig(server, output, http, logging, management, embedded, cache, policyId, agentId, ignored);
    }

    /**
     * Reads a YAML file into a tree for {@link #load(JsonNode, Map, Map)}; an empty file reads as a null node.
     *
     * @throws ConfigException when the file cannot be read or is not valid YAML (with the line)
     */
    public static JsonNode readYaml(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            JsonNode tree = YAML.readTree(in);
            return tree == null || tree.isMissingNode() ? NullNode.getInstance() : tree;
        } catch (NoSuchFileException e) {
            throw new ConfigException("--config: no such file " + file);
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ": " + yamlProblem(e), e);
        } catch (IOException e) {
            throw new ConfigException("--config: cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses YAML text into a tree for {@link #load(JsonNode, Map, Map)}, as {@link #readYaml} does a file. */
    public static JsonNode parseYaml(String yaml) {
        try {
            JsonNode tree = YAML.readTree(yaml);
            return tree == null || tree.isMissingNode() ? NullNode.getInstance() : tree;
        } catch (JsonProcessingException e) {
            throw new ConfigException(yamlProblem(e), e);
        }
    }

    /** The text {@code --help} prints. */
    public static String usage() {
        return """
                Usage: fleet-server [flags]
                       fleet-server enrollment-token [--policy ID] [flags]
                       fleet-server backup --output FILE [flags]

                Runs a Fleet Server for Elastic Agent. Settings come from a YAML file in the layout of the
                original fleet-server.yml (output.elasticsearch.*, inputs[0].server.*, logging.*, http.*) plus
                management.* and embedded.*; ${VAR} and ${VAR:default} are expanded from the environment.
                Flags override the file. Without output.elasticsearch.hosts, data is kept in the embedded store.

                Commands (with the same --config and --data-dir as the server; they only read, so they work
                while it runs):
                  enrollment-token           print an active enrollment token of the policy "default" (or --policy ID)
                  backup --output FILE       copy the embedded store to FILE, consistently, while the server runs

                Flags:
                  -c, --config FILE          read settings from FILE
                      --data-dir DIR         embedded store directory (embedded.data_dir; default ./data)
                      --host HOST            agent API bind host (inputs[0].server.host; default 0.0.0.0)
                      --port PORT            agent API port (inputs[0].server.port; default 8220)
                      --management-host HOST management API bind host (management.host; default 127.0.0.1)
                      --management-port PORT management API port (management.port; default 8221)
                  -h, --help                 print this help and exit
                """;
    }

    private static Map<String, String> parseFlags(String[] args) {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--help") || arg.equals("-h")) {
                throw new HelpRequestedException();
            }
            String name;
            String value = null;
            if (arg.equals("-c")) {
                name = CONFIG;
            } else if (arg.startsWith("--") && arg.length() > 2) {
                int equals = arg.indexOf('=');
                name = arg.substring(2, equals < 0 ? arg.length() : equals);
                value = equals < 0 ? null : arg.substring(equals + 1);
            } else if (arg.startsWith("-")) {
                throw unknownFlag(arg);
            } else {
                throw new ConfigException("unexpected argument " + Section.quote(arg) + " (flags start with --)");
            }
            if (!ALL_FLAGS.contains(name) || name.equals("help")) {
                throw unknownFlag("--" + name);
            }
            if (value == null) {
                if (i + 1 == args.length || args[i + 1].startsWith("--")) {
                    throw new ConfigException("--" + name + ": needs a value");
                }
                value = args[++i];
            }
            if (flags.put(name, requireValue(name, value)) != null) {
                throw new ConfigException("--" + name + ": given more than once");
            }
        }
        return flags;
    }

    private static String hostFlag(Map<String, String> flags, String name, String current) {
        return flags.containsKey(name) ? requireValue(name, flags.get(name).trim()) : current;
    }

    private static int portFlag(Map<String, String> flags, String name, int current) {
        if (!flags.containsKey(name)) {
            return current;
        }
        String value = requireValue(name, flags.get(name)).trim();
        try {
            int port = Integer.parseInt(value);
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ConfigException("--" + name + ": expected an integer between 0 and 65535, got "
                + Section.quote(value));
    }

    private static String requireValue(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new ConfigException("--" + name + ": needs a value");
        }
        return value;
    }

    private static ConfigException unknownFlag(String flag) {
        String suggestion = flag.startsWith("--") ? Section.closest(flag.substring(2), ALL_FLAGS) : null;
        return new ConfigException("unknown flag " + flag
                + (suggestion == null ? "" : " (did you mean --" + suggestion + "?)") + "; see --help");
    }

    /** {@code inputs[0]}; an absent or empty {@code inputs} list reads as one input with all defaults. */
    private static Section fleetServerInput(Section root) {
        JsonNode inputs = root.raw("inputs");
        if (inputs != null && !inputs.isArray()) {
            throw ConfigException.at("inputs", "expected a list holding one fleet-server input, got "
                    + Section.describe(inputs));
        }
        if (inputs != null && inputs.size() > 1) {
            throw ConfigException.at("inputs", "only one fleet-server input can be defined, got " + inputs.size());
        }
        return root.child("inputs[0]", inputs == null || inputs.isEmpty() ? null : inputs.get(0));
    }

    /** One line: "invalid YAML at line N: problem", from SnakeYAML's multi-line message when it has one. */
    private static String yamlProblem(JsonProcessingException e) {
        if (e.getCause() instanceof MarkedYAMLException marked && marked.getProblem() != null) {
            Mark mark = marked.getProblemMark();
            return "invalid YAML" + (mark == null ? "" : " at line " + (mark.getLine() + 1)) + ": "
                    + marked.getProblem() + (marked.getContext() == null ? "" : " (" + marked.getContext() + ")");
        }
        JsonLocation location = e.getLocation();
        return "invalid YAML" + (location == null || location.getLineNr() < 1 ? "" : " at line "
                + location.getLineNr()) + ": " + e.getOriginalMessage();
    }
}
