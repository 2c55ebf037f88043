package dev.fleetserver.netty.http;

import io.netty.handler.codec.http.HttpMethod;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A route table: {@code METHOD /path/{param}/...} to a {@link RouteHandler}. Trailing slashes and the query string
 * (Elastic Agent always sends a bare {@code ?}) are ignored. Immutable once built; shared by every connection.
 */
public final class Routes {
    private final List<Entry> entries = new ArrayList<>();

    public Routes add(HttpMethod method, String pattern, BodyLimits limits, RouteHandler handler) {
        // "/" is the path of no segments, as match() splits a request's path.
        entries.add(new Entry(method, pattern.equals("/") ? new String[0] : pattern.substring(1).split("/"), limits, handler));
        return this;
    }

    /**
     * A copy of this table whose handlers are {@code wrap.apply(pattern, handler)}, {@code pattern} as given to
     * {@link #add} (e.g. {@code /api/status}); for guards that apply to some routes of a table.
     */
    public Routes wrapped(java.util.function.BiFunction<String, RouteHandler, RouteHandler> wrap) {
        Routes copy = new Routes();
        for (Entry e : entries) {
            RouteHandler handler = wrap.apply("/" + String.join("/", e.pattern), e.handler);
            copy.entries.add(new Entry(e.method, e.pattern, e.limits, handler));
        }
        return copy;
    }

    /** The outcome of matching one request line. */
    public sealed interface Match {
    }

    public record Found(RouteHandler handler, Map<String, String> params, BodyLimits limits) implements Match {
    }

    /** The path exists with another method. */
    public record WrongMethod() implements Match {
    }

    public record NotFound() implements Match {
    }

    public Match match(HttpMethod method, String uri) {
        String path = path(uri);
        String[] segments = path.isEmpty() ? new String[0] : path.substring(1).split("/", -1);
        boolean pathExists = false;
        for (Entry e : entries) {
            Map<String, String> params = e.match(segments);
            if (params == null) {
                continue;
            }
            if (e.method.equals(method)) {
                return new Found(e.handler, params, e.limits);
            }
            pathExists = true;
        }
        return pathExists ? new WrongMethod() : new NotFound();
    }

    /** Body limits for a request, known from its first line (before the body arrives). */
    public BodyLimits limitsFor(HttpMethod method, String uri) {
        return match(method, uri) instanceof Found f ? f.limits() : BodyLimits.DEFAULT;
    }

    /** The path without query and trailing slash ({@code /} stays {@code /}-less empty). */
    static String path(String uri) {
        int q = uri.indexOf('?');
        String p = q < 0 ? uri : uri.substring(0, q);
        int hash = p.indexOf('#');
        if (hash >= 0) {
            p = p.substring(0, hash);
        }
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    /** Query parameters of a request target, first value wins; no decoding beyond %XX and +. */
    public static Map<String, String> query(String uri) {
        Map<String, String> out = new LinkedHashMap<>();
        int q = uri.indexOf('?');
        if (q < 0) {
            return out;
        }
        for (String pair : uri.substring(q + 1).split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = decode(eq < 0 ? pair : pair.substring(0, eq));
            String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
            out.putIfAbsent(k, v);
        }
        return out;
    }

    private static String decode(String s) {
        try {
            return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    private record Entry(HttpMethod method, String[] pattern, BodyLimits limits, RouteHandler handler) {
        Map<String, String> match(String[] segments) {
            if (segments.length != pattern.length) {
                return null;
            }
            Map<String, String> params = null;
            for (int i = 0; i < pattern.length; i++) {
                String p = pattern[i];
                if (p.startsWith("{")) {
                    if (segments[i].isEmpty()) {
                        return null;
                    }
                    if (params == null) {
                        params = new LinkedHashMap<>(2);
                    }
                    params.put(p.substring(1, p.length() - 1), decode(segments[i]));
                } else if (!p.equals(segments[i])) {
                    return null;
                }
            }
            return params == null ? Map.of() : params;
        }
    }
}
