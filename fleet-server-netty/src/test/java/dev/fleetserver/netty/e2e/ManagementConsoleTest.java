package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.netty.config.ConsoleConfig;
import dev.fleetserver.netty.console.ConsoleSessions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The browser console on the management listener: its files, its sign-in, and its session cookie. */
class ManagementConsoleTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

    @RegisterExtension
    final TestFleetExtension fleet = TestFleetExtension.embedded();

    private HttpResponse<String> call(String method, String path, String body, String... headers) {
        try {
            return E2eSupport.send(HTTP, URI.create("http://127.0.0.1:" + fleet.daemon().managementPort() + path), method, body,
                    headers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private HttpResponse<String> signIn(String token) {
        return call("POST", "/ui/api/session", "{\"token\":\"" + token + "\"}");
    }

    /** The {@code name=value} part of the session cookie a sign-in set. */
    private static String sessionCookie(HttpResponse<String> signedIn) {
        String setCookie = signedIn.headers().firstValue("Set-Cookie").orElseThrow();
        return setCookie.substring(0, setCookie.indexOf(';'));
    }

    @Test
    void theConsoleIsServedFromTheJarWithItsSecurityHeaders() {
        HttpResponse<String> root = call("GET", "/", null);
        assertThat(root.statusCode()).isEqualTo(302);
        assertThat(root.headers().firstValue("Location")).hasValue("/ui/");

        HttpResponse<String> index = call("GET", "/ui/", null);
        assertThat(index.statusCode()).isEqualTo(200);
        assertThat(index.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(index.headers().firstValue("Content-Security-Policy").orElseThrow()).contains("default-src 'self'");
        assertThat(index.headers().firstValue("X-Frame-Options")).hasValue("DENY");
        assertThat(index.body()).contains("<title>Fleet Server console</title>").contains("/ui/console.js");

        for (String file : List.of("console.js", "console.css", "index.html")) {
            assertThat(call("GET", "/ui/" + file, null).statusCode()).as(file).isEqualTo(200);
        }
        assertThat(call("GET", "/ui/console.js", null).headers().firstValue("Content-Type"))
                .hasValue("text/javascript; charset=utf-8");
        for (String other : List.of("/ui/nothing.js", "/ui/..%2fMETA-INF%2fMANIFEST.MF", "/ui/..%2f..%2fetc%2fpasswd")) {
            assertThat(call("GET", other, null).statusCode()).as(other).isEqualTo(404);
        }
    }

    @Test
    void signingInExchangesTheTokenForAnHttpOnlyStrictExpiringCookieThatAuthenticatesTheApi() {
        assertThat(call("GET", "/ui/api/session", null).body()).contains("\"signedIn\":false");
        assertThat(call("GET", "/api/fleet/agents", null).statusCode()).isEqualTo(401);

        HttpResponse<String> signedIn = signIn(fleet.daemon().managementToken());

        assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(200);
        String setCookie = signedIn.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie).startsWith(ConsoleSessions.COOKIE + "=");
        assertThat(setCookie.toLowerCase(Locale.ROOT)).contains("httponly").contains("samesite=strict").contains("path=/")
                .contains("max-age=" + ConsoleConfig.DEFAULT_SESSION_LIFETIME.toSeconds())
                // A Secure cookie would never come back over the plain HTTP it was set on.
                .doesNotContain("secure");
        assertThat(signedIn.body()).doesNotContain(fleet.daemon().managementToken());
        String cookie = sessionCookie(signedIn);
        assertThat(call("GET", "/ui/api/session", null, "Cookie", cookie).body()).contains("\"signedIn\":true");
        assertThat(call("GET", "/api/fleet/agents", null, "Cookie", cookie).statusCode()).isEqualTo(200);
        assertThat(call("GET", "/api/fleet/agent_status", null, "Cookie", cookie).statusCode()).isEqualTo(200);
        // The bearer token works as before, with or without a console session.
        assertThat(call("GET", "/api/fleet/agents", null, "Authorization", "Bearer " + fleet.daemon().managementToken())
                .statusCode()).isEqualTo(200);
    }

    @Test
    void aWrongTokenIsRefusedWithAClearMessageAndNoCookie() {
        HttpResponse<String> refused = signIn("not-the-token");

        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.body()).contains("\"message\":\"wrong management token\"");
        assertThat(refused.headers().firstValue("Set-Cookie")).isEmpty();
        assertThat(call("POST", "/ui/api/session", "{\"password\":\"x\"}").statusCode()).isEqualTo(400);
    }

    @Test
    void repeatedWrongTokensSlowDownSignInsEvenWithTheRightOne() {
        for (int i = 0; i < 5; i++) {
            assertThat(signIn("guess-" + i).statusCode()).isEqualTo(401);
        }

        HttpResponse<String> slowed = signIn(fleet.daemon().managementToken());

        assertThat(slowed.statusCode()).isEqualTo(429);
        assertThat(Long.parseLong(slowed.headers().firstValue("Retry-After").orElseThrow())).isPositive();
        assertThat(slowed.body()).contains("too many wrong tokens");
        assertThat(slowed.headers().firstValue("Set-Cookie")).isEmpty();
        // The API's own bearer token is not slowed down.
        assertThat(call("GET", "/api/fleet/agents", null, "Authorization", "Bearer " + fleet.daemon().managementToken())
                .statusCode()).isEqualTo(200);
    }

    @Test
    void aChangeMadeWithTheCookieMustComeFromTheConsolesOwnOrigin() {
        String cookie = sessionCookie(signIn(fleet.daemon().managementToken()));
        String body = "{\"policy_id\":\"default\",\"name\":\"from-the-console\"}";
        String own = "http://127.0.0.1:" + fleet.daemon().managementPort();

        HttpResponse<String> elsewhere = call("POST", "/api/fleet/enrollment_api_keys", body, "Cookie", cookie,
                "Origin", "http://elsewhere.example");
        assertThat(elsewhere.statusCode()).isEqualTo(403);
        assertThat(elsewhere.body()).contains("must come from the console's own origin");
        assertThat(call("POST", "/api/fleet/enrollment_api_keys", body, "Cookie", cookie, "Origin", own).statusCode())
                .isEqualTo(200);
        assertThat(call("GET", "/api/fleet/agents", null, "Cookie", cookie, "Origin", "http://elsewhere.example").statusCode())
                .as("reads change nothing").isEqualTo(200);
    }

    @Test
    void aSignedOutOrMadeUpSessionNoLongerAuthenticates() {
        String cookie = sessionCookie(signIn(fleet.daemon().managementToken()));

        HttpResponse<String> out = call("DELETE", "/ui/api/session", null, "Cookie", cookie);

        assertThat(out.statusCode()).isEqualTo(200);
        assertThat(out.headers().firstValue("Set-Cookie").orElseThrow().toLowerCase(Locale.ROOT)).contains("max-age=0");
        assertThat(call("GET", "/api/fleet/agents", null, "Cookie", cookie).statusCode()).isEqualTo(401);
        assertThat(call("GET", "/api/fleet/agents", null, "Cookie", ConsoleSessions.COOKIE + "=made-up").statusCode())
                .isEqualTo(401);
        assertThat(call("GET", "/ui/api/session", null, "Cookie", cookie).body()).contains("\"signedIn\":false");
    }
}
