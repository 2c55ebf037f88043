package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * The console in a real browser (headless Chromium) against a server on its embedded store, with an agent that checks
 * in, acks and uploads diagnostics as Elastic Agent does. Screenshots of each page land in
 * {@code target/console-screenshots}.
 */
class ConsoleBrowserTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    @TempDir
    Path work;

    private ConsoleBrowser browser;
    private SimulatedAgent agent;

    @AfterEach
    void closeBrowserAndAgent() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (browser != null) {
            browser.close();
        }
    }

    private void signIn(String token) {
        browser.awaitView("sign-in");
        browser.type("token", token);
        browser.find("#sign-in-form button[type=submit]").click();
    }

    @Test
    void aWrongTokenIsRefusedWithAClearMessageAndTheRightOneOpensTheOverview() throws Exception {
        browser = ConsoleBrowser.open(fleet.daemon().managementPort(), work);
        browser.openRoot();
        signIn("not-the-token");
        browser.awaitText("#sign-in-error", "wrong management token");
        browser.screenshot("sign-in-wrong-token");

        signIn(fleet.daemon().managementToken());
        browser.awaitView("overview");
        browser.awaitText("#server-health", "HEALTHY");
        assertThat(browser.byId("nav").isDisplayed()).isTrue();
        assertThat(browser.scriptErrors()).isEmpty();
    }

    @Test
    void anAgentEnrolledByTheTestIsManagedFromTheConsoleFromPolicyRolloutToDiagnosticsAndTokens() throws Exception {
        agent = SimulatedAgent.start(fleet.agent(), fleet.daemon().enrollmentToken(), "lab-host-1");
        browser = ConsoleBrowser.open(fleet.daemon().managementPort(), work);
        browser.go("#overview");
        signIn(fleet.daemon().managementToken());

        // Overview: the agent is counted online, by policy and by version; the server's health is shown.
        browser.awaitView("overview");
        browser.awaitText("#count-online", "1");
        browser.awaitText("#by-version", "9.6.0");
        browser.awaitText("#server-health", "Parked checkins");
        browser.screenshot("overview");

        // Agents: the agent's row, online, on the default policy.
        browser.go("#agents");
        browser.awaitText("#agents-table tbody", "lab-host-1");
        WebElement row = browser.find("#agents-table tbody tr[data-agent-id='" + agent.id() + "']");
        assertThat(row.getText()).contains("online");
        browser.screenshot("agents");

        // Its page: metadata and the components it reports.
        row.findElement(By.linkText("lab-host-1")).click();
        browser.awaitView("agent");
        browser.awaitText("#agent-components", "system/metrics-default");
        assertThat(browser.byId("agent-meta").getText()).contains(agent.id()).contains("lab-host-1");

        // The policy: a field error and a syntax error are shown at the editor, then a real edit rolls out to 100 %.
        browser.go("#policy/default");
        browser.awaitView("policy");
        browser.await("the policy in the editor", d -> browser.byId("policy-editor").getAttribute("value").contains("name:"));
        String original = browser.byId("policy-editor").getAttribute("value");
        browser.awaitText("#rollout-text", "Revision 1: 1 of 1 agents (100 %)");

        browser.type("policy-editor", withTopLevel(original, "inputs", "inputs: {}"));
        browser.byId("policy-save").click();
        browser.awaitText("#policy-editor-error", "inputs: expected an array");
        assertThat(browser.byId("policy-editor").getAttribute("aria-invalid")).isEqualTo("true");
        assertThat(selectedText()).startsWith("inputs:");
        browser.screenshot("policy-field-error");

        browser.type("policy-editor", "name: [not closed\n");
        browser.byId("policy-save").click();
        browser.awaitText("#policy-editor-error", "invalid YAML at line");

        browser.type("policy-editor", withTopLevel(original, "description", "description: Edited in the browser"));
        browser.byId("policy-save").click();
        browser.awaitText("#notice", "Saved revision 2");
        browser.awaitText("#rollout-text", "Revision 2: 1 of 1 agents (100 %)");
        assertThat(agent.revision()).isEqualTo(2);
        browser.awaitText("#policy-revisions tbody", "2");
        assertThat(browser.findAll("#policy-revisions tbody tr")).hasSize(2);
        browser.find("#policy-revisions button[type=button]").click();
        browser.awaitText("#revision-view", "description: Edited in the browser");
        browser.screenshot("policy-rollout");

        // Diagnostics: asked for from the agent's page, uploaded by the agent, downloaded by the browser.
        browser.go("#agent/" + agent.id());
        browser.awaitView("agent");
        browser.byId("agent-diagnostics").click();
        browser.awaitText("#agent-result", "Sent");
        WebElement download = browser.await("the bundle's download link", d -> d.findElement(By.cssSelector("#agent-uploads a.download")));
        browser.screenshot("agent");
        download.click();
        Path bundle = browser.await("the bundle downloaded", d -> {
            try (var files = Files.list(browser.downloads())) {
                return files.filter(f -> f.getFileName().toString().endsWith(".zip")).findFirst().orElse(null);
            } catch (java.io.IOException e) {
                return null;
            }
        });
        browser.await("the download finished", d -> {
            try {
                return Arrays.equals(Files.readAllBytes(bundle), agent.bundle());
            } catch (java.io.IOException e) {
                return false;
            }
        });
        browser.awaitText("#agent-actions", "REQUEST_DIAGNOSTICS");

        // Actions: the diagnostics request complete, with the agent's own result.
        browser.go("#actions");
        browser.awaitText("#actions-table tbody", "REQUEST_DIAGNOSTICS");
        browser.find("#actions-table tbody a").click();
        browser.awaitView("action");
        browser.awaitText("#action-results", agent.id());
        browser.awaitText("#action-summary", "1 acked, 0 failed, 0 pending of 1 agents");
        browser.screenshot("action");

        // An upgrade sent to the selected agent from the agents page.
        browser.go("#agents");
        browser.awaitText("#agents-table tbody", "lab-host-1");
        browser.find("#agents-table tbody input[type=checkbox]").click();
        browser.type("bulk-version", "9.7.0");
        browser.byId("bulk-apply").click();
        browser.awaitText("#bulk-result", "Sent to 1 selected agent(s)");

        // Enrollment tokens: create one, see its install command, revoke it.
        browser.go("#tokens");
        browser.awaitView("tokens");
        browser.await("the policies to choose from", d -> !browser.findAll("#token-policy option").isEmpty());
        browser.type("token-name", "browser-made");
        browser.find("#token-form button[type=submit]").click();
        browser.awaitText("#install-command", "--enrollment-token=");
        String command = browser.byId("install-command").getText();
        assertThat(command).startsWith("sudo elastic-agent install --url=http://127.0.0.1:" + fleet.daemon().port());
        browser.awaitText("#tokens-table tbody", "browser-made");
        browser.screenshot("tokens");
        WebElement tokenRow = browser.await("the new token's row", d -> browser.findAll("#tokens-table tbody tr").stream()
                .filter(r -> r.getText().contains("browser-made")).findFirst().orElse(null));
        String keyId = tokenRow.getAttribute("data-key-id");
        tokenRow.findElement(By.cssSelector("button.danger")).click();
        browser.await("the confirmation", d -> browser.byId("confirm").isDisplayed());
        browser.byId("confirm-ok").click();
        browser.await("the token revoked", d -> browser.find("#tokens-table tbody tr[data-key-id='" + keyId + "']").getText()
                .contains("revoked"));
        JsonNode keys = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/enrollment_api_keys?perPage=100", null);
        String revokedToken = null;
        for (JsonNode k : keys.get("items")) {
            if (k.get("id").asText().equals(keyId)) {
                assertThat(k.get("active").asBoolean()).isFalse();
                revokedToken = k.get("api_key").asText();
            }
        }
        assertThat(command).contains("--enrollment-token=" + revokedToken);
        assertThat(fleet.agent().enroll(revokedToken, AgentClient.enrollBody()).status()).isEqualTo(401);

        assertThat(browser.scriptErrors()).isEmpty();
        browser.byId("sign-out").click();
        browser.awaitView("sign-in");
    }

    /** The policy's YAML with {@code key}'s top-level entry (and what is nested under it) replaced by {@code line}. */
    private static String withTopLevel(String yaml, String key, String line) {
        List<String> kept = new java.util.ArrayList<>();
        boolean skipping = false;
        for (String l : yaml.split("\n")) {
            if (!l.startsWith(" ") && !l.startsWith("-")) {
                skipping = l.startsWith(key + ":");
            }
            if (!skipping) {
                kept.add(l);
            }
        }
        kept.add(line);
        return kept.stream().collect(Collectors.joining("\n")) + "\n";
    }

    private String selectedText() {
        return (String) browser.script("const t = document.getElementById('policy-editor');"
                + " return t.value.substring(t.selectionStart, t.selectionEnd);");
    }
}
