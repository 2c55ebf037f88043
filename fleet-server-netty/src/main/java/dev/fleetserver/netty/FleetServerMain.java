package dev.fleetserver.netty;

import dev.fleetserver.netty.config.ConfigException;
import dev.fleetserver.netty.config.ConfigLoader;
import dev.fleetserver.netty.config.FleetServerConfig;
import dev.fleetserver.netty.config.HelpRequestedException;
import dev.fleetserver.netty.logging.LogSetup;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar fleet-server.jar [--config FILE] [--data-dir DIR] [--host H] [--port P] [--management-port P]}.
 * Prints {@code Enrollment token: <token>} once ready; SIGTERM stops it gracefully. Exit codes: 0 normal, 1 failed
 * to start, 2 bad configuration; SIGTERM exits 0 once stopped.
 */
public final class FleetServerMain {
    private FleetServerMain() {
    }

    public static void main(String[] args) {
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
            daemon = FleetDaemon.start(config);
        } catch (Exception e) {
            LoggerFactory.getLogger(FleetServerMain.class).error("fleet-server failed to start", e);
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
        if (daemon.enrollmentToken() != null) {
            System.out.println("Enrollment token: " + daemon.enrollmentToken());
        } else {
            System.out.println("No policy with id \"default\": create enrollment tokens in Kibana or with the management API");
        }
        System.out.flush();
        SystemdNotify.ready("serving agents on port " + daemon.port());
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
            LoggerFactory.getLogger(FleetServerMain.class).debug("SIGTERM not handled: {}", e.toString());
        }
    }
}
