package dev.fleetserver.netty;

import dev.fleetserver.core.FleetCore;
import dev.fleetserver.netty.command.Commands;
import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.ConfigLoader;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.config.HelpRequestedException;
import dev.fleetserver.netty.logging.LogSetup;
import java.io.Console;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar fleet-server.jar [--config FILE] [--data-dir DIR] [--host H] [--port P] [--management-port P]},
 * or one of the {@linkplain Commands commands} ({@code enrollment-token}, {@code backup}).
 *
 * <p>Prints {@code Fleet Server listening on …} once the listeners are bound, then, once it serves (on
 * Elasticsearch: once the cluster answered), {@code Enrollment token: <token>} when the key was created by this
 * start or stdout is a terminal, else how to print it (so the token does not land in the journal on every start).
 * SIGTERM stops it gracefully. Exit codes: 0 normal (SIGTERM included), 1 failed to start, 2 bad configuration.
 * A refusal to start ({@link StartupException}) and a configuration error are printed as a message, no stack trace.
 */
public final class FleetServerMain {
    private static final Logger LOG = LoggerFactory.getLogger(FleetServerMain.class);

    private FleetServerMain() {
    }

    public static void main(String[] args) {
        if (Commands.isCommand(args)) {
            LogSetup.apply(Commands.logging());
            int status = Commands.run(args, System.getenv(), System.out, System.err);
            System.out.flush();
            System.exit(status);
            return;
        }
        FleetServerConfig config;
        try {
            config = ConfigLoader.load(args);
        } catch (HelpRequestedException e) {
            System.out.println(ConfigLoader.usage());
            return;
        } catch (ConfigException e) {
            System.err.println("fleet-server: " + e.getMessage());
            System.err.println("Run with --help for usage.");
            System.exit(2);
            return;
        }
        LogSetup.apply(config.logging());
        FleetDaemon daemon;
        try {
            daemon = FleetDaemon.launch(config);
        } catch (ConfigException e) {
            refuse(config, 2, e);
            return;
        } catch (StartupException e) {
            refuse(config, 1, e);
            return;
        } catch (Exception e) {
            LOG.error("fleet-server failed to start", e);
            System.err.println("fleet-server: failed to start: " + e);
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            SystemdNotify.stopping();
            daemon.stop();
        }, "fleet-shutdown"));
        stopOnSigterm(daemon);
        System.out.println("Fleet Server listening on " + config.server().host() + ":" + daemon.port()
                + (daemon.managementPort() >= 0 ? ", management API on " + config.management().host() + ":" + daemon.managementPort() : ""));
        System.out.println("Management token file: " + config.embedded().dataDir().resolve(FleetDaemon.MANAGEMENT_TOKEN_FILE)
                + (config.management().token() != null ? " (token set in configuration)" : ""));
        System.out.flush();
        FleetCore.Started started;
        try {
            started = daemon.ready().join();
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
            return;  // stopped while waiting for Elasticsearch
        }
        System.out.println(enrollmentTokenLine(started, terminal(), hint(args, config)));
        System.out.flush();
        SystemdNotify.ready("serving agents on port " + daemon.port());
    }

    /**
     * What to print about the enrollment token: the token itself when its key was created by this start (the
     * operator has not seen it yet) or when a person is watching (a terminal); otherwise how to print it, so that
     * it does not land in the journal or a log file on every start.
     */
    static String enrollmentTokenLine(FleetCore.Started started, boolean terminal, String hint) {
        if (started.enrollmentToken() == null) {
            return "No policy with id \"default\": create enrollment tokens in Kibana or with the management API";
        }
        if (started.enrollmentTokenCreated() || terminal) {
            return "Enrollment token: " + started.enrollmentToken();
        }
        return "To print the enrollment token: " + hint;
    }

    /** The command that prints the token, with the flags this server was started with that it needs. */
    static String hint(String[] args, FleetServerConfig config) {
        StringBuilder command = new StringBuilder("java -jar ").append(jar()).append(" enrollment-token");
        String configFile = configFlag(args);
        if (configFile != null) {
            command.append(" --config ").append(configFile);
        }
        if (!config.output().isConfigured()) {
            command.append(" --data-dir ").append(config.embedded().dataDir());
        }
        return command.toString();
    }

    private static String configFlag(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if ((args[i].equals("--config") || args[i].equals("-c")) && i + 1 < args.length) {
                return args[i + 1];
            }
            if (args[i].startsWith("--config=")) {
                return args[i].substring("--config=".length());
            }
        }
        return null;
    }

    /** This jar's path when running from one, else its usual name. */
    private static String jar() {
        try {
            Path location = Path.of(FleetServerMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(location) && location.toString().endsWith(".jar")) {
                return location.toString();
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through
        }
        return "fleet-server.jar";
    }

    /** Whether stdout is a terminal: a console exists and (from Java 22, where it may exist without one) is one. */
    private static boolean terminal() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;  // before Java 22 a console exists only on a terminal
        }
    }

    /**
     * A refusal: its message, and nothing else, on stderr; the stack trace at debug. Logged at ERROR as well when
     * the log does not go to stderr as text (files, JSON), so that the log tells why the server is not running.
     */
    private static void refuse(FleetServerConfig config, int status, RuntimeException e) {
        LOG.debug("start refused", e);
        if (config.logging().toFiles() || config.logging().json() || !config.logging().toStderr()) {
            LOG.error("fleet-server did not start: {}", e.getMessage());
        }
        System.err.println("fleet-server: " + e.getMessage());
        System.exit(status);
    }

    /**
     * SIGTERM (systemd, docker stop) stops gracefully and exits 0: a planned stop is a success. The shutdown hook
     * alone would stop as gracefully but exit 143. {@code sun.misc.Signal} is the JDK's supported way to handle a
     * signal (module {@code jdk.unsupported}); where it is missing the hook still stops the daemon.
     */
    private static void stopOnSigterm(FleetDaemon daemon) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), signal -> {
                SystemdNotify.stopping();
                daemon.stop();
                System.exit(0);
            });
        } catch (IllegalArgumentException | LinkageError e) {
            LOG.debug("SIGTERM not handled: {}", e.toString());
        }
    }
}
