package dev.fleetserver.netty.console;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.netty.http.BodyLimits;
import dev.fleetserver.netty.http.Exchange;
import dev.fleetserver.netty.http.FixedAnswers;
import dev.fleetserver.netty.http.Routes;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.CookieHeaderNames;
import io.netty.handler.codec.http.cookie.DefaultCookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import io.netty.handler.codec.http.cookie.ServerCookieEncoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The browser console on the management listener: its files, served from the jar ({@code /} and {@code /ui/…}), and
 * its sign-in ({@code /ui/api/session}), which exchanges the management token for a session cookie (HttpOnly,
 * SameSite=Strict, expiring). Every other call the console makes goes to the management API, authenticated by that
 * cookie as by the bearer token, under the same limits.
 */
public final class ConsoleRoutes {
    /** Paths that answer without the management token: the console's files and its sign-in. */
    public static final Set<String> OPEN = Set.of("/", "/ui/", "/ui/{file}", "/ui/api/session");

    /** The console's files: only these are served, so no path can reach anything else in the jar. */
    private static final Map<String, String> FILES = Map.of(
            "index.html", "text/html; charset=utf-8",
            "console.js", "text/javascript; charset=utf-8",
            "console.css", "text/css; charset=utf-8");
    /** Scripts, styles and calls from the console's own origin only; never framed. */
    private static final String CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
            + "base-uri 'none'; form-action 'self'";

    private final byte[] token;
    private final ConsoleSessions sessions;
    private final SignInThrottle throttle;
    private final Map<String, FullHttpResponse> files;
    private final FullHttpResponse toConsole;

    private ConsoleRoutes(String token, ConsoleSessions sessions, SignInThrottle throttle) {
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.sessions = sessions;
        this.throttle = throttle;
        Map<String, FullHttpResponse> loaded = new HashMap<>();
        FILES.forEach((name, type) -> loaded.put(name, file(name, type)));
        this.files = Map.copyOf(loaded);
        this.toConsole = FixedAnswers.template(HttpResponseStatus.FOUND, null, new byte[0]);
        toConsole.headers().set(HttpHeaderNames.LOCATION, "/ui/");
    }

    /** Adds the console's routes to {@code routes}, signing in against {@code token}. */
    public static Routes addTo(Routes routes, String token, ConsoleSessions sessions, SignInThrottle throttle) {
        ConsoleRoutes r = new ConsoleRoutes(token, sessions, throttle);
        return routes
                .add(HttpMethod.GET, "/", BodyLimits.DEFAULT, ex -> r.fixed(ex, r.toConsole))
                .add(HttpMethod.GET, "/ui/", BodyLimits.DEFAULT, ex -> r.fixed(ex, r.files.get("index.html")))
                .add(HttpMethod.GET, "/ui/{file}", BodyLimits.DEFAULT, ex -> {
                    FullHttpResponse file = r.files.get(ex.param("file"));
                    r.fixed(ex, file != null ? file : FixedAnswers.NOT_FOUND);
                })
                .add(HttpMethod.GET, "/ui/api/session", BodyLimits.DEFAULT, r::session)
                .add(HttpMethod.POST, "/ui/api/session", BodyLimits.DEFAULT, r::signIn)
                .add(HttpMethod.DELETE, "/ui/api/session", BodyLimits.DEFAULT, r::signOut);
    }

    /** Whether the request carries the cookie of a live console session. */
    public static boolean signedIn(Exchange ex, ConsoleSessions sessions) {
        return sessions.valid(sessionId(ex));
    }

    /**
     * Whether a request made with the session cookie may act: reads always; a change only when it names no origin or
     * the console's own ({@code Origin} matching {@code Host}). The cookie is SameSite=Strict already; this refuses a
     * cross-site change even from a browser that ignored that.
     */
    public static boolean sameOrigin(Exchange ex) {
        HttpMethod method = ex.method();
        if (method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD)) {
            return true;
        }
        String origin = ex.header(HttpHeaderNames.ORIGIN);
        if (origin == null) {
            return true;
        }
        String host = ex.header(HttpHeaderNames.HOST);
        return host != null && (origin.equalsIgnoreCase("http://" + host) || origin.equalsIgnoreCase("https://" + host));
    }

    private void fixed(Exchange ex, FullHttpResponse answer) {
        ex.releaseRequest();
        ex.respondFixed(answer);
    }

    private void session(Exchange ex) {
        boolean in = signedIn(ex, sessions);
        ex.releaseRequest();
        ex.respondJson(HttpResponseStatus.OK, Json.object().put("signedIn", in));
    }

    private void signIn(Exchange ex) {
        long wait = throttle.retryAfterSeconds();
        if (wait > 0) {
            ex.releaseRequest();
            ex.fail(new FleetException(FleetError.RATE_LIMIT, "too many wrong tokens: try again in " + wait + " s"),
                    HttpHeaderNames.RETRY_AFTER, wait);
            return;
        }
        ex.readJson(e -> new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "invalid JSON: " + Json.reason(e)))
                .whenComplete((body, t) -> {
                    ex.releaseRequest();
                    if (t != null) {
                        ex.fail(t);
                        return;
                    }
                    JsonNode given = body == null ? null : body.get("token");
                    if (given == null || !given.isTextual()) {
                        ex.fail(new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, "[request body.token]: expected a string"));
                        return;
                    }
                    if (!MessageDigest.isEqual(token, given.textValue().trim().getBytes(StandardCharsets.UTF_8))) {
                        throttle.failed();
                        ex.fail(new FleetException(FleetError.MANAGEMENT_UNAUTHORIZED, "wrong management token"));
                        return;
                    }
                    throttle.succeeded();
                    String id = sessions.open();
                    ex.respondJson(HttpResponseStatus.OK, Json.object().put("signedIn", true)
                                    .put("expiresInSeconds", sessions.lifetime().toSeconds()),
                            HttpHeaderNames.SET_COOKIE, cookie(id, sessions.lifetime().toSeconds(), ex.secure()));
                });
    }

    private void signOut(Exchange ex) {
        sessions.close(sessionId(ex));
        ex.releaseRequest();
        ex.respondJson(HttpResponseStatus.OK, Json.object().put("signedIn", false),
                HttpHeaderNames.SET_COOKIE, cookie("", 0, ex.secure()));
    }

    private static String cookie(String value, long maxAgeSeconds, boolean secure) {
        DefaultCookie c = new DefaultCookie(ConsoleSessions.COOKIE, value);
        c.setHttpOnly(true);
        c.setSameSite(CookieHeaderNames.SameSite.Strict);
        c.setPath("/");
        c.setMaxAge(maxAgeSeconds);
        c.setSecure(secure);
        return ServerCookieEncoder.STRICT.encode(c);
    }

    private static String sessionId(Exchange ex) {
        for (String header : ex.headers(HttpHeaderNames.COOKIE)) {
            for (Cookie c : ServerCookieDecoder.STRICT.decodeAll(header)) {
                if (ConsoleSessions.COOKIE.equals(c.name())) {
                    return c.value();
                }
            }
        }
        return null;
    }

    private static FullHttpResponse file(String name, String contentType) {
        byte[] body;
        try (InputStream in = ConsoleRoutes.class.getResourceAsStream("/console/" + name)) {
            if (in == null) {
                throw new IllegalStateException("console file missing from the jar: " + name);
            }
            body = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        FullHttpResponse r = FixedAnswers.template(HttpResponseStatus.OK, contentType, body);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        r.headers().set("X-Content-Type-Options", "nosniff");
        r.headers().set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        r.headers().set("X-Frame-Options", "DENY");
        r.headers().set("Referrer-Policy", "no-referrer");
        return r;
    }
}
