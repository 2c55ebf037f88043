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
import org.openqa.selenium.Keys;

/**
 * The console in a real browser (headless Chromium) against a server on its embedded store, with an agent that checks
 * in, acks and uploads diagnostics as Elastic Agent does. Screenshots of each page land in
 * {@code target/console-screenshots/<class>}.
 */
class ConsoleBrowserTest {
    /** Names this test's policy and agent apart from anything else in a shared back end. */
    final String suffix = java.util.UUID.randomUUID().toString().substring(0, 8);

    @RegisterExtension
    final TestFleetExtension fleet = newFleet();

    /** The fleet under test; on its embedded store here. */
    protected TestFleetExtension newFleet() {
        return TestFleetExtension.embedded();
    }

    @TempDir
    Path work;

    private ConsoleBrowser browser;
    private SimulatedAgent agent;
    private final List<SimulatedAgent> others = new java.util.ArrayList<>();

    @AfterEach
    void closeBrowserAndAgent() throws Exception {
        if (agent != null) {
            agent.close();
        }
        for (SimulatedAgent other : others) {
            other.close();
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
        browser = ConsoleBrowser.open(fleet.daemon().managementPort(), work, getClass().getSimpleName());
        browser.openRoot();
        signIn("not-the-token");
        browser.awaitText("#sign-in-error", "wrong management token");
        browser.screenshot("sign-in-wrong-token");

        signIn(fleet.daemon().managementToken());
        browser.awaitView("overview");
        browser.awaitText("#server-health", "HEALTHY");
        assertThat(browser.byId("nav").isDisplayed()).isTrue();
        browser.checkAccessibility("overview-just-signed-in");
        assertThat(browser.accessibilityViolations()).as("axe-core on the sign-in page and the overview").isEmpty();
        assertThat(browser.scriptErrors()).isEmpty();
    }

    @Test
    void theConsoleIsUsedFromTheKeyboardAlone() throws Exception {
        browser = ConsoleBrowser.open(fleet.daemon().managementPort(), work, getClass().getSimpleName());
        browser.openRoot();
        browser.awaitView("sign-in");
        browser.await("the token field focused", d -> "token".equals(browser.activeId()));
        browser.keys(fleet.daemon().managementToken(), Keys.ENTER);
        browser.awaitView("overview");
        browser.await("the overview's title focused", d -> "overview-title".equals(browser.activeId()));

        // Back from the view's title: the navigation, then the skip link at the top; forward again to Agents.
        browser.back(1);
        assertThat(browser.activeText()).isEqualTo("Sign out");
        browser.back(4);
        assertThat(browser.activeText()).isEqualTo("Agents");
        browser.back(2);
        assertThat(browser.activeText()).isEqualTo("Skip to content");
        browser.keys(Keys.TAB, Keys.TAB);
        assertThat(browser.activeText()).isEqualTo("Agents");
        browser.keys(Keys.ENTER);
        browser.awaitView("agents");
        browser.await("the agents' title focused", d -> "agents-title".equals(browser.activeId()));

        browser.keys(Keys.TAB);
        assertThat(browser.activeId()).isEqualTo("kuery");
        browser.keys("status:nothing-like-this", Keys.ENTER);
        browser.awaitText("#page-label", "(0 agents)");
    }

    @Test
    void aPolicyAndTokenMadeInTheConsoleEnrollAnAgentWhoseEditRollsOutAndWhoseDiagnosticsDownload() throws Exception {
        String policyId = "lab-" + suffix;
        String host = "lab-host-" + suffix;
        browser = ConsoleBrowser.open(fleet.daemon().managementPort(), work, getClass().getSimpleName());
        browser.go("#policies");
        signIn(fleet.daemon().managementToken());

        // A policy made in the browser: a field error is shown at its line, then it is created.
        browser.awaitView("policies");
        browser.byId("new-policy").click();
        browser.awaitView("policy-new");
        browser.type("policy-new-editor", "id: " + policyId + "\nname: Lab " + suffix + "\nagent: [1]\n");
        browser.find("#policy-new-form button[type=submit]").click();
        browser.awaitText("#policy-new-error", "agent: expected an object");
        browser.type("policy-new-editor", "id: " + policyId + "\nname: Lab " + suffix + "\nnamespace: default\n"
                + "description: made in the browser\n");
        browser.find("#policy-new-form button[type=submit]").click();
        browser.awaitView("policy");
        browser.awaitText("#rollout-text", "Revision 1: 0 of 0 agents (100 %)");
        browser.go("#policies");
        browser.awaitText("#policies-table tbody", "Lab " + suffix);
        browser.screenshot("policies");

        // An enrollment token for it, with the command that installs an agent.
        browser.go("#tokens");
        browser.awaitView("tokens");
        browser.await("the new policy to choose", d -> browser.findAll("#token-policy option[value='" + policyId + "']").size() == 1);
        browser.script("document.getElementById('token-policy').value = arguments[0]", policyId);
        browser.type("token-name", "lab-token");
        browser.find("#token-form button[type=submit]").click();
        browser.awaitText("#install-command", "--enrollment-token=");
        String command = browser.byId("install-command").getText();
        String scheme = "sudo elastic-agent install --url=http://127.0.0.1:" + fleet.daemon().port() + " --enrollment-token=";
        assertThat(command).startsWith(scheme).endsWith(" --insecure");
        String token = command.substring(scheme.length(), command.length() - " --insecure".length());
        browser.screenshot("tokens");

        // Agents enrolled with that token appear on the overview and in the agents table, by status and version.
        agent = SimulatedAgent.start(fleet.agent(), token, host);
        others.add(SimulatedAgent.start(fleet.agent(), token, "lab-db-" + suffix, "9.6.0", "degraded"));
        others.add(SimulatedAgent.start(fleet.agent(), token, "lab-web-" + suffix, "9.5.2", "online"));
        browser.go("#overview");
        browser.awaitView("overview");
        browser.awaitText("#by-policy", "Lab " + suffix);
        browser.awaitText("#by-version", "9.6.0");
        browser.awaitText("#by-version", "9.5.2");
        browser.awaitText("#server-health", "Parked checkins");
        browser.screenshot("overview");

        browser.go("#agents");
        browser.type("kuery", "policy_id:" + policyId);
        browser.find("#agents-search button[type=submit]").click();
        String row = "#agents-table tbody tr[data-agent-id='" + agent.id() + "']";
        browser.awaitText(row, host);
        browser.awaitText(row, "online");
        browser.awaitText("#agents-table tbody", "degraded");
        assertThat(browser.findAll("#agents-table tbody tr")).hasSize(3);
        browser.screenshot("agents");

        // Its page: metadata and the components it reports.
        browser.click(row + " td:nth-child(2) a");
        browser.awaitView("agent");
        browser.awaitText("#agent-components", "system/metrics-default");
        assertThat(browser.byId("agent-meta").getText()).contains(agent.id()).contains(host);
        browser.type("agent-tags", "lab, rack-4");
        browser.find("#agent-tags-form button[type=submit]").click();
        browser.awaitText("#agent-result", "Tags saved.");
        browser.awaitText("#agent-meta", "lab, rack-4");

        // The policy: a field error and a syntax error are shown at the editor, then a real edit rolls out to 100 %.
        browser.go("#policy/" + policyId);
        browser.awaitView("policy");
        browser.awaitText("#rollout-text", "Revision 1: 3 of 3 agents (100 %)");
        browser.await("the policy in the editor", d -> browser.byId("policy-editor").getAttribute("value").contains("name:"));
        String original = browser.byId("policy-editor").getAttribute("value");

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
        browser.awaitText("#rollout-text", "Revision 2: 3 of 3 agents (100 %)");
        assertThat(agent.revision()).isEqualTo(2);
        browser.await("two revisions listed", d -> browser.findAll("#policy-revisions tbody tr").size() == 2);
        browser.click("#policy-revisions button[type=button]");
        browser.awaitText("#revision-view", "description: Edited in the browser");
        browser.screenshot("policy-rollout");

        // Diagnostics: asked for from the agent's page, uploaded by the agent, downloaded by the browser.
        browser.go("#agent/" + agent.id());
        browser.awaitView("agent");
        browser.byId("agent-diagnostics").click();
        browser.awaitText("#agent-result", "Sent");
        browser.await("the bundle's download link", d -> d.findElement(By.cssSelector("#agent-uploads a.download")));
        browser.screenshot("agent");
        browser.click("#agent-uploads a.download");
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
        browser.screenshot("actions");
        String actionId = browser.withText("#actions-table tbody tr", "REQUEST_DIAGNOSTICS").getAttribute("data-action-id");
        browser.click("#actions-table tbody tr[data-action-id='" + actionId + "'] a");
        browser.awaitView("action");
        browser.awaitText("#action-results", agent.id());
        browser.awaitText("#action-summary", "1 acked, 0 failed, 0 pending of 1 agents");
        browser.screenshot("action");

        // An upgrade sent to the selected agent from the agents page.
        browser.go("#agents");
        browser.awaitText("#agents-table tbody", host);
        browser.click(row + " input[type=checkbox]");
        browser.type("bulk-version", "9.7.0");
        browser.byId("bulk-apply").click();
        browser.awaitText("#bulk-result", "Sent to 1 selected agent(s)");

        // The token revoked: agents can no longer enroll with it.
        browser.go("#tokens");
        String keyId = browser.withText("#tokens-table tbody tr", "lab-token").getAttribute("data-key-id");
        browser.click("#tokens-table tbody tr[data-key-id='" + keyId + "'] button.danger");
        browser.await("the confirmation", d -> browser.byId("confirm").isDisplayed());
        browser.byId("confirm-ok").click();
        browser.awaitText("#tokens-table tbody tr[data-key-id='" + keyId + "']", "revoked");
        JsonNode keys = E2eSupport.managementOk(fleet.daemon(), "GET", "/api/fleet/enrollment_api_keys?perPage=100", null);
        boolean found = false;
        for (JsonNode k : keys.get("items")) {
            if (k.get("id").asText().equals(keyId)) {
                assertThat(k.get("active").asBoolean()).isFalse();
                assertThat(k.get("api_key").asText()).isEqualTo(token);
                found = true;
            }
        }
        assertThat(found).isTrue();
        E2eSupport.await("the revoked token refused", () -> fleet.agent().enroll(token, AgentClient.enrollBody()).status() == 401);

        // A policy with agents cannot be deleted; one without can.
        browser.go("#policy/" + policyId);
        browser.awaitView("policy");
        browser.byId("policy-delete").click();
        browser.byId("confirm-ok").click();
        browser.awaitText("#policy-delete-result", "Cannot delete an agent policy that is assigned to any active or inactive agents");
        E2eSupport.managementOk(fleet.daemon(), "POST", "/api/fleet/agent_policies",
                "{\"id\":\"spare-" + suffix + "\",\"name\":\"Spare " + suffix + "\"}");
        browser.go("#policy/spare-" + suffix);
        browser.awaitText("#policy-title", "Spare " + suffix);
        browser.byId("policy-delete").click();
        browser.byId("confirm-ok").click();
        browser.awaitView("policies");
        browser.awaitText("#notice", "Policy spare-" + suffix + " deleted.");
        assertThat(E2eSupport.management(fleet.daemon(), "GET", "/api/fleet/agent_policies/spare-" + suffix, null).status())
                .isEqualTo(404);

        assertThat(browser.scriptErrors()).isEmpty();
        assertThat(browser.accessibilityViolations()).as("axe-core on every page shown").isEmpty();
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
