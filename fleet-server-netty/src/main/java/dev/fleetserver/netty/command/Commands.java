package dev.fleetserver.netty.command;

import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.ConfigLoader;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.config.HelpRequestedException;
import dev.fleetserver.netty.config.LoggingConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code fleet-server <command> [flags]}: short-lived commands beside the server, on the same configuration
 * ({@code --config}, {@code --data-dir}, …). They only read the server's state and take no lock, so they work while
 * the server runs. Exit status: 0 done, 1 failed, 2 bad usage or configuration.
 */
public final class Commands {
    /** The command names, for {@code main} to tell a command from a flag. */
    public static final List<String> NAMES = List.of(EnrollmentTokenCommand.NAME, BackupCommand.NAME);

    private Commands() {
    }

    /** Whether {@code args} start with a command rather than a flag. */
    public static boolean isCommand(String[] args) {
        return args.length > 0 && !args[0].startsWith("-");
    }

    /** Runs the command {@code args[0]} with the flags after it; returns the exit status. */
    public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        String name = args[0];
        List<String> rest = new ArrayList<>(Arrays.asList(args).subList(1, args.length));
        try {
            return switch (name) {
                case EnrollmentTokenCommand.NAME -> {
                    String policy = takeFlag(rest, "policy");
                    yield EnrollmentTokenCommand.run(load(rest, env), policy == null ? "default" : policy, out, err);
                }
                case BackupCommand.NAME -> {
                    String output = takeFlag(rest, "output");
                    if (output == null) {
                        throw new ConfigException("backup: --output FILE is required");
                    }
                    yield BackupCommand.run(load(rest, env), java.nio.file.Path.of(output), out, err);
                }
                default -> throw new ConfigException("unknown command " + name + " (commands: " + String.join(", ", NAMES)
                        + "; flags start with --)");
            };
        } catch (HelpRequestedException e) {
            out.println(ConfigLoader.usage());
            return 0;
        } catch (ConfigException e) {
            err.println("fleet-server: " + e.getMessage());
            return 2;
        }
    }

    /**
     * The logging a command runs with: its own output is what matters, so only warnings and errors, on stderr,
     * never into the server's log files.
     */
    public static LoggingConfig logging() {
        LoggingConfig d = LoggingConfig.defaults();
        return new LoggingConfig("warning", false, true, false, null, d.filesName(), d.keepFiles(), d.rotateEveryBytes());
    }

    private static FleetServerConfig load(List<String> args, Map<String, String> env) {
        return ConfigLoader.load(args.toArray(String[]::new), env);
    }

    /** Removes {@code --name VALUE} or {@code --name=VALUE} from {@code args}; returns the value, or null. */
    static String takeFlag(List<String> args, String name) {
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--" + name)) {
                if (i + 1 == args.size() || args.get(i + 1).startsWith("--") || args.get(i + 1).isBlank()) {
                    throw new ConfigException("--" + name + ": needs a value");
                }
                String value = args.get(i + 1);
                args.subList(i, i + 2).clear();
                return value;
            }
            if (arg.startsWith("--" + name + "=")) {
                String value = arg.substring(name.length() + 3);
                if (value.isBlank()) {
                    throw new ConfigException("--" + name + ": needs a value");
                }
                args.remove(i);
                return value;
            }
        }
        return null;
    }
}
