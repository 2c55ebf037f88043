package dev.fleetserver.netty.config;

/**
 * The configuration (file, flags or environment) cannot be used. The message is meant for the operator as is: it
 * names the offending setting by its full path ({@code inputs[0].server.port}) or flag ({@code --port}) and says
 * what was wrong, so {@code main} prints it and exits without a stack trace.
 */
public class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code "<path>: <problem>"}, the shape of every message about one setting. */
    static ConfigException at(String path, String problem) {
        return new ConfigException(path + ": " + problem);
    }
}
