package dev.fleetserver.netty.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Headless Chromium driven through its chromedriver, for the console's browser tests: Debian's {@code chromium} and
 * {@code chromium-driver} ({@code .ci/run} installs them when missing). Without them the tests are skipped, unless
 * {@code FLEET_REQUIRE_BROWSER} is set (as CI sets it), when they fail. Screenshots go to
 * {@code target/console-screenshots}, downloads to a directory of the test's.
 */
final class ConsoleBrowser implements AutoCloseable {
    static final Path CHROMIUM = Paths.get("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Paths.get("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Paths.get("target", "console-screenshots");
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final ChromeDriver driver;
    private final Path downloads;
    private final Path profile;
    private final String base;
    private final Path screenshots;
    private final List<String> violations = new java.util.ArrayList<>();

    /**
     * A browser for the console at {@code http://127.0.0.1:<managementPort>}, its screenshots in
     * {@code target/console-screenshots/<screenshotsDir>}; skips the test when no browser is installed.
     */
    static ConsoleBrowser open(int managementPort, Path workDir, String screenshotsDir) throws IOException {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present && System.getenv("FLEET_REQUIRE_BROWSER") != null) {
            throw new AssertionError("FLEET_REQUIRE_BROWSER is set but " + CHROMIUM + " or " + CHROMEDRIVER + " is missing");
        }
        Assumptions.assumeTrue(present, "browser tests need Debian's chromium and chromium-driver");
        return new ConsoleBrowser(managementPort, workDir, SCREENSHOTS.resolve(screenshotsDir));
    }

    private ConsoleBrowser(int managementPort, Path workDir, Path screenshots) throws IOException {
        this.screenshots = Files.createDirectories(screenshots);
        this.base = "http://127.0.0.1:" + managementPort;
        this.downloads = Files.createDirectories(workDir.resolve("downloads"));
        this.profile = Files.createDirectories(workDir.resolve("chromium-profile"));
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // The machine's network is closed: no background connections, no component updates.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                "--no-first-run", "--no-default-browser-check", "--window-size=1366,900", "--lang=en-US",
                "--user-data-dir=" + profile.toAbsolutePath());
        options.setExperimentalOption("prefs", Map.of(
                "download.default_directory", downloads.toAbsolutePath().toString(),
                "download.prompt_for_download", false,
                "safebrowsing.enabled", false));
        options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .withLogFile(workDir.resolve("chromedriver.log").toFile())
                .build();
        this.driver = new ChromeDriver(service, options);
    }

    WebDriver driver() {
        return driver;
    }

    Path downloads() {
        return downloads;
    }

    /** Opens the console at {@code hash} (e.g. {@code #agents}). */
    void go(String hash) {
        String url = base + "/ui/" + hash;
        if (driver.getCurrentUrl() != null && driver.getCurrentUrl().startsWith(base + "/ui/")) {
            ((JavascriptExecutor) driver).executeScript("location.hash = arguments[0]", hash);
        } else {
            driver.get(url);
        }
    }

    void openRoot() {
        driver.get(base + "/");
    }

    WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    List<WebElement> findAll(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    WebElement byId(String id) {
        return driver.findElement(By.id(id));
    }

    /** Waits (up to 20 s) until {@code condition} gives a non-null, non-false value; that value. */
    <T> T await(String what, Function<WebDriver, T> condition) {
        try {
            return new WebDriverWait(driver, WAIT).withMessage(what).ignoring(RuntimeException.class).until(condition);
        } catch (TimeoutException e) {
            // What the page showed when the wait gave up, in the failure and as a screenshot.
            screenshot("failed-" + what.replaceAll("[^A-Za-z0-9]+", "-"));
            throw new AssertionError("waited in vain for " + what + "; the page showed:\n"
                    + driver.findElement(By.tagName("body")).getText(), e);
        }
    }

    /** Clicks the element {@code css} finds, finding it again should the page re-render it meanwhile. */
    void click(String css) {
        await("a click on " + css, d -> {
            d.findElement(By.cssSelector(css)).click();
            return true;
        });
    }

    /** The first element {@code css} finds whose text contains {@code text}, once there is one. */
    WebElement withText(String css, String text) {
        return await(css + " with \"" + text + "\"", d -> d.findElements(By.cssSelector(css)).stream()
                .filter(e -> e.getText().contains(text)).findFirst().orElse(null));
    }

    /** Waits until the element's text contains {@code text}. */
    void awaitText(String css, String text) {
        await(css + " to contain \"" + text + "\"", d -> d.findElement(By.cssSelector(css)).getText().contains(text));
    }

    /** Waits until the section {@code id} is the one shown. */
    void awaitView(String id) {
        await("view " + id, d -> d.findElement(By.id(id)).isDisplayed());
    }

    /** Replaces a field's text (textarea or input) and tells the page it changed. */
    void type(String id, String text) {
        WebElement field = byId(id);
        field.clear();
        ((JavascriptExecutor) driver).executeScript(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", field, text);
    }

    /** Sends keys to whatever has the focus, as a person typing would. */
    void keys(CharSequence... keys) {
        new org.openqa.selenium.interactions.Actions(driver).sendKeys(keys).perform();
    }

    /** Shift+Tab, {@code times} times: the focus moves back. */
    void back(int times) {
        var actions = new org.openqa.selenium.interactions.Actions(driver).keyDown(Keys.SHIFT);
        for (int i = 0; i < times; i++) {
            actions = actions.sendKeys(Keys.TAB);
        }
        actions.keyUp(Keys.SHIFT).perform();
    }

    /** The id of the focused element, or null. */
    String activeId() {
        return driver.switchTo().activeElement().getAttribute("id");
    }

    /** The text of the focused element. */
    String activeText() {
        return driver.switchTo().activeElement().getText();
    }

    Object script(String js, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(js, args);
    }

    /**
     * Saves the whole page as {@code <name>.png} in this browser's screenshot directory, and checks it for
     * accessibility ({@link #checkAccessibility}).
     */
    void screenshot(String name) {
        checkAccessibility(name);
        // The whole page, not only what the window shows: the window grows to the page's height for the shot.
        Dimension window = driver.manage().window().getSize();
        long height = ((Number) script("return document.documentElement.scrollHeight")).longValue();
        driver.manage().window().setSize(new Dimension(window.getWidth(), (int) Math.min(6000, Math.max(window.getHeight(), height + 140))));
        Path shot = driver.getScreenshotAs(OutputType.FILE).toPath();
        driver.manage().window().setSize(window);
        try {
            Files.copy(shot, screenshots.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Checks the page as shown with axe-core (WCAG 2 A and AA rules) and keeps what it finds, each as
     * {@code <page>: <rule> (<impact>) at <elements>}; {@link #accessibilityViolations()} lists them all.
     */
    void checkAccessibility(String page) {
        String found = (String) ((JavascriptExecutor) driver).executeAsyncScript(axeScript() + """
                ;const done = arguments[arguments.length - 1];
                axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                  .then((r) => done(r.violations.map((v) => `${v.id} (${v.impact}) at ${v.nodes.slice(0, 3)
                    .map((n) => n.target.join(' ')).join(', ')}`).join('\\n')))
                  .catch((e) => done(`axe failed: ${e}`));
                """);
        if (found != null && !found.isEmpty()) {
            for (String v : found.split("\n")) {
                violations.add(page + ": " + v);
            }
        }
    }

    List<String> accessibilityViolations() {
        return List.copyOf(violations);
    }

    private static String axeScript() {
        try (var in = ConsoleBrowser.class.getResourceAsStream("/axe.min.js")) {
            if (in == null) {
                throw new IllegalStateException("axe.min.js is not on the test class path");
            }
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Script errors the page logged (answers with an error status, which the console shows, are not counted). */
    List<String> scriptErrors() {
        return driver.manage().logs().get("browser").getAll().stream()
                .filter(e -> e.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue())
                .map(e -> e.getMessage())
                .filter(m -> !m.contains("Failed to load resource"))
                .toList();
    }

    @Override
    public void close() {
        driver.quit();
    }
}
