package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * {@code main} in a JVM of its own, as an operator runs it: its stdout lines as they come, its stderr, its exit
 * status. For what only a real process shows: exit codes, what is printed, locks held by another process.
 */
final class DaemonProcess implements AutoCloseable {
    private static final String MAIN = "dev.fleetserver.netty.FleetServerMain";
    private static final String EOF = "\u0000eof";

    private final Process process;
    private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    private final List<String> stdoutSeen = new CopyOnWriteArrayList<>();
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final Thread stdoutReader;
    private final Thread stderrReader;

    private DaemonProcess(Process process) {
        this.process = process;
        stdoutReader = new Thread(() -> read(process.getInputStream(), stdout::add), "daemon-stdout");
        stdoutReader.setDaemon(true);
        stdoutReader.start();
        stderrReader = new Thread(() -> read(process.getErrorStream(), stderr::add), "daemon-stderr");
        stderrReader.setDaemon(true);
        stderrReader.start();
    }

    private static void read(InputStream in, java.util.function.Consumer<String> lines) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                lines.accept(line);
            }
        } catch (IOException e) {
            // the process is gone
        } finally {
            lines.accept(EOF);
        }
    }

    /** Starts {@code main} with {@code args}. */
    static DaemonProcess start(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), MAIN));
        cmd.addAll(List.of(args));
        try {
            return new DaemonProcess(new ProcessBuilder(cmd).start());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a server on loopback with ephemeral ports on {@code dataDir}, plus {@code more} flags. */
    static DaemonProcess server(Path dataDir, String... more) {
        List<String> args = new ArrayList<>(List.of("--data-dir", dataDir.toString(), "--host", "127.0.0.1", "--port", "0",
                "--management-host", "127.0.0.1", "--management-port", "0"));
        args.addAll(List.of(more));
        return start(args.toArray(String[]::new));
    }

    /** The first stdout line (from now on) that {@code matches}; fails when the process ends or after 60 s. */
    String awaitLine(Predicate<String> matches) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try {
            while (true) {
                String line = stdout.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null || line.equals(EOF)) {
                    throw new AssertionError((line == null ? "no such line after 60 s" : "the process ended")
                            + "; stdout: " + stdoutSeen + "; stderr: " + stderr());
                }
                stdoutSeen.add(line);
                if (matches.test(line)) {
                    return line;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The line a server prints once it serves: its token, how to print it, or that there is no default policy. */
    String awaitServing() {
        return awaitLine(l -> l.startsWith("Enrollment token: ") || l.startsWith("To print the enrollment token: ")
                || l.startsWith("No policy with id "));
    }

    /** Waits for the exit (at most 60 s); returns the status. */
    int awaitExit() {
        try {
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the process exits").isTrue();
            stdoutReader.join(TimeUnit.SECONDS.toMillis(10));
            stderrReader.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return process.exitValue();
    }

    /** SIGTERM, then the exit status. */
    int stop() {
        process.destroy();
        return awaitExit();
    }

    long pid() {
        return process.pid();
    }

    /** Everything written to stderr so far, one entry per line. */
    List<String> stderr() {
        return stderr.stream().filter(l -> !l.equals(EOF)).toList();
    }

    /** Everything written to stdout so far (lines not yet awaited included, once the process has ended). */
    List<String> stdout() {
        List<String> all = new ArrayList<>(stdoutSeen);
        stdout.stream().filter(l -> !l.equals(EOF)).forEach(all::add);
        return all;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }

    /** A command's outcome. */
    record Result(int status, List<String> stdout, List<String> stderr) {
    }

    /** Runs {@code main} with {@code args} to its end. */
    static Result run(String... args) {
        try (DaemonProcess p = start(args)) {
            int status = p.awaitExit();
            return new Result(status, p.stdout(), p.stderr());
        }
    }

    /** What {@code enrollment-token --data-dir dataDir} prints; fails unless it succeeds. */
    static String enrollmentToken(Path dataDir) {
        Result r = run("enrollment-token", "--data-dir", dataDir.toString());
        assertThat(r.status()).as("enrollment-token: " + r).isZero();
        assertThat(r.stdout()).as(r.toString()).hasSize(1);
        return r.stdout().get(0);
    }
}
