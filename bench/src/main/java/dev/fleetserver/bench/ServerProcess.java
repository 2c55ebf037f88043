package dev.fleetserver.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One server process of a run (ours or the baseline) and what it printed when ready. It can be started again on the
 * same command (same data dir and ports); each start logs to its own file.
 */
final class ServerProcess {
    final String name;
    final List<String> cmd;
    final Path logFile;
    final int port;
    final int mport;
    final BlockingQueue<String> wokeLines = new LinkedBlockingQueue<>();
    /** Where every started child is registered, so that the runner's teardown ends it. */
    private final List<Child> registry;
    Child child;
    /** The log of the latest start. */
    Path currentLog;
    int starts;
    String enrollToken;
    String managementToken = "none";

    ServerProcess(String name, List<String> cmd, Path logFile, int port, int mport, List<Child> registry) {
        this.name = name;
        this.cmd = cmd;
        this.logFile = logFile;
        this.port = port;
        this.mport = mport;
        this.registry = registry;
    }

    /**
     * Starts the process (again: same command, same data dir) and waits until it serves. Our server prints its
     * enrollment token only when it created it (the first start on a fresh store), else how to print it: then the
     * token is asked of its {@code enrollment-token} command, once; the token of an earlier start stays valid.
     */
    void start(long deadline) throws Exception {
        BlockingQueue<String> ready = new LinkedBlockingQueue<>();
        Path log = starts++ == 0 ? logFile : logFile.resolveSibling(logFile.getFileName().toString()
                .replace(".log", "-restart" + (starts - 1) + ".log"));
        currentLog = log;
        child = new Child(name, cmd, log, line -> {
            if (line.contains("parked checkins")) {
                wokeLines.add(line);
            } else if (line.startsWith("Enrollment token: ") || line.startsWith("To print the enrollment token: ")
                    || line.startsWith("No policy with id ") || line.startsWith("Management token file: ")) {
                ready.add(line);
            }
        });
        registry.add(child);
        boolean serving = false;
        boolean printsHowTo = false;
        while (!serving) {
            String line = ready.poll(Math.min(180_000, BenchRunner.left(deadline)), TimeUnit.MILLISECONDS);
            if (line == null) {
                throw new IllegalStateException("server did not start; see " + log);
            }
            if (line.startsWith("Enrollment token: ")) {
                enrollToken = line.substring("Enrollment token: ".length()).trim();
                serving = true;
            } else if (line.startsWith("Management token file: ")) {
                Path f = Path.of(line.substring("Management token file: ".length()).split(" ")[0]);
                if (Files.exists(f)) {
                    managementToken = Files.readString(f).trim();
                }
            } else {
                printsHowTo = line.startsWith("To print the enrollment token: ");
                serving = true;
            }
        }
        if (enrollToken == null && printsHowTo) {
            enrollToken = printedEnrollmentToken();
        }
    }

    /** The enrollment token from the server's {@code enrollment-token} command (same jar, same flags). */
    private String printedEnrollmentToken() throws Exception {
        int jar = cmd.indexOf("-jar");
        List<String> command = new ArrayList<>(List.of(BenchRunner.java(), "-jar", cmd.get(jar + 1), "enrollment-token"));
        command.addAll(cmd.subList(jar + 2, cmd.size()));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || out.isEmpty()) {
            throw new IllegalStateException("enrollment-token command failed: " + String.join(" ", command));
        }
        return out;
    }

    long pid() {
        return child.pid();
    }

    boolean alive() {
        return child != null && child.alive();
    }

    /** SIGTERM (the graceful stop: open requests answered, buffered writes flushed), waits, and unregisters it. */
    void stop() {
        child.close(0);
        registry.remove(child);
    }

    /** SIGKILL, then waits (at most 60 s) for the process to be gone, and unregisters it. */
    void kill9() {
        ProcessHandle.of(pid()).ifPresent(h -> {
            h.destroyForcibly();
            h.onExit().orTimeout(60, TimeUnit.SECONDS).join();
        });
        child.close(0);
        registry.remove(child);
    }
}
