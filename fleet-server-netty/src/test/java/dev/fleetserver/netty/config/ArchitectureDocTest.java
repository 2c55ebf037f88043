package dev.fleetserver.netty.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** {@code ARCHITECTURE.md} names files that exist: the plan and the code cannot drift apart unnoticed. */
class ArchitectureDocTest {
    private static final Pattern CODE_SPAN = Pattern.compile("`([^`]+)`");
    private static final Pattern JAVA_FILE = Pattern.compile("(?:[\\w.]+/)*\\w+\\.java");
    private static final Pattern TYPE_NAME = Pattern.compile("[A-Z]\\w+(?:\\.[A-Z]\\w+)?");

    @Test
    void everyJavaFileTheArchitectureNamesExists() throws IOException {
        Path root = repositoryRoot();
        String doc = Files.readString(root.resolve("ARCHITECTURE.md"));
        List<Path> sources = javaSources(root);

        Set<String> missing = new TreeSet<>();
        int named = 0;
        for (String file : javaFilesNamed(doc)) {
            named++;
            if (sources.stream().noneMatch(p -> p.toString().replace('\\', '/').endsWith("/" + file))) {
                missing.add(file);
            }
        }

        assertThat(named).as("java files named").isGreaterThan(50);
        assertThat(missing).as("files named in ARCHITECTURE.md that do not exist").isEmpty();
    }

    @Test
    void everyClassTheArchitectureNamesExists() throws IOException {
        Path root = repositoryRoot();
        String doc = Files.readString(root.resolve("ARCHITECTURE.md"));
        Set<String> classes = new TreeSet<>();
        for (Path p : javaSources(root)) {
            classes.add(p.getFileName().toString().replace(".java", ""));
        }

        Set<String> missing = new TreeSet<>();
        Matcher m = CODE_SPAN.matcher(doc);
        while (m.find()) {
            String span = m.group(1);
            if (TYPE_NAME.matcher(span).matches()) {
                String outer = span.contains(".") ? span.substring(0, span.indexOf('.')) : span;
                if (!classes.contains(outer)) {
                    missing.add(span);
                }
            }
        }

        assertThat(missing).as("classes named in ARCHITECTURE.md that do not exist").isEmpty();
    }

    @Test
    void theReadmeLinksTheArchitecture() throws IOException {
        assertThat(Files.readString(repositoryRoot().resolve("README.md"))).contains("(ARCHITECTURE.md)");
    }

    private static List<String> javaFilesNamed(String doc) {
        List<String> files = new ArrayList<>();
        Matcher m = CODE_SPAN.matcher(doc);
        while (m.find()) {
            Matcher f = JAVA_FILE.matcher(m.group(1));
            while (f.find()) {
                files.add(f.group());
            }
        }
        return files;
    }

    private static List<Path> javaSources(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> p.toString().replace('\\', '/').contains("/src/"))
                    .toList();
        }
    }

    private static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("ARCHITECTURE.md"))) {
                return dir;
            }
        }
        throw new AssertionError("ARCHITECTURE.md not found above " + Path.of("").toAbsolutePath());
    }
}
