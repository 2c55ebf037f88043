package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A console session that expires while the console is open, in a real browser, with a 3-second session lifetime. */
class ConsoleSessionExpiryBrowserTest {
    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded()
            .root(root -> root.putObject("management").putObject("console").put("session_lifetime", "3s"));

    @TempDir
    Path work;

    private ConsoleBrowser browser;

    @AfterEach
    void closeBrowser() {
        if (browser != null) {
            browser.close();
        }
    }

    @Test
    void anExpiredSessionSendsTheUserBackToSignInWithAMessage() throws Exception {
        browser = ConsoleBrowser.open(fleet.daemon().managementPort(), work, getClass().getSimpleName());
        browser.go("#agents");
        browser.awaitView("sign-in");
        browser.type("token", fleet.daemon().managementToken());
        browser.find("#sign-in-form button[type=submit]").click();
        browser.awaitView("agents");

        // The console refreshes the view it shows; once the session is over, that refresh meets a 401.
        browser.awaitView("sign-in");
        browser.awaitText("#sign-in-error", "Your session has ended: sign in again.");
        assertThat(browser.byId("nav").isDisplayed()).isFalse();
        browser.screenshot("session-expired");
        assertThat(browser.accessibilityViolations()).isEmpty();

        browser.type("token", fleet.daemon().managementToken());
        browser.find("#sign-in-form button[type=submit]").click();
        browser.awaitView("agents");
    }
}
