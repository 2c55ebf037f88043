package dev.fleetserver.netty.config;

/**
 * Thrown by {@link ConfigLoader#load(String[])} when the command line asks for {@code --help} (or {@code -h}).
 * It is not an error: its message is {@link ConfigLoader#usage()}, which {@code main} prints to standard output
 * before exiting with status 0. Catch it before {@link ConfigException}, which it extends so that a caller that
 * only knows about configuration failures still stops instead of starting a server.
 */
public final class HelpRequestedException extends ConfigException {
    HelpRequestedException() {
        super(ConfigLoader.usage());
    }
}
