package dev.fleetserver.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A child process of the runner: stdout and stderr lines go to a consumer and a log file (both are drained
 * continuously, so a chatty child never blocks on a full pipe); {@link #close()} ends it, gently first.
 */
final class Child implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Writer stdin;
    private final PrintWriter log;

    Child(String name, List<String> command, Path logFile, Consumer<String> onLine) throws IOException {
        this.name = name;
        Files.createDirectories(logFile.getParent());
        this.log = new PrintWriter(Files.newBufferedWriter(logFile, StandardCharsets.UTF_8), true);
        log.println("# " + String.join(" ", command));
        this.process = new ProcessBuilder(command).start();
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        drain(process.getInputStream(), onLine, "out");
        drain(process.getErrorStream(), onLine, "err");
    }

    private void drain(InputStream in, Consumer<String> onLine, String stream) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (log) {
                        log.println(stream.equals("err") ? "[err] " + line : line);
                    }
                    onLine.accept(line);
                }
            } catch (IOException e) {
                // The process ended.
            }
        }, name + "-" + stream);
        t.setDaemon(true);
        t.start();
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    String name() {
        return name;
    }

    /** Writes one command line to the child's stdin. */
    synchronized void send(String line) throws IOException {
        stdin.write(line);
        stdin.write('\n');
        stdin.flush();
    }

    /** Closes stdin, waits up to {@code graceSeconds}, then SIGTERM, then SIGKILL. */
    void close(long graceSeconds) {
        try {
            stdin.close();
        } catch (IOException e) {
            // Already gone.
        }
        try {
            if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        log.close();
    }

    @Override
    public void close() {
        close(0);
    }
}
