package dev.fleetserver.netty.limit;

/**
 * Which route limiter a request path counts against, as the original's {@code pathToOperation}
 * ({@code internal/pkg/api/router.go}); names are those of the {@code <route>_limit} settings. Paths it does not
 * know (unknown routes, the management API) have no route limiter.
 */
public final class RouteBuckets {
    private RouteBuckets() {
    }

    /** @param uri the request target; query and trailing slashes are ignored. @return the route name, or null */
    public static String of(String uri) {
        int end = uri.length();
        int q = uri.indexOf('?');
        if (q >= 0) {
            end = q;
        }
        int hash = uri.indexOf('#');
        if (hash >= 0 && hash < end) {
            end = hash;
        }
        while (end > 0 && uri.charAt(end - 1) == '/') {
            end--;
        }
        String path = uri.substring(0, end);
        switch (path) {
            case "/api/status":
                return "status";
            case "/api/fleet/uploads":
                return "upload_start";
            case "/v1/opamp":
                return "opamp";
            default:
                break;
        }
        if (path.startsWith("/api/agents/upgrades/") && path.endsWith("/pgp-public-key")) {
            return "pgp_retrieval";
        }
        if (!path.startsWith("/api/fleet/")) {
            return null;
        }
        String[] s = path.substring("/api/fleet/".length()).split("/", -1);
        return switch (s.length) {
            case 2 -> switch (s[0]) {
                case "agents" -> "enroll";
                case "uploads" -> "upload_end";
                case "file" -> "file_delivery";
                default -> null;
            };
            case 3 -> switch (s[0]) {
                case "agents" -> switch (s[2]) {
                    case "acks" -> "ack";
                    case "checkin" -> "checkin";
                    default -> null;
                };
                case "uploads" -> "upload_chunk";
                case "artifacts" -> "artifact";
                default -> null;
            };
            case 4 -> "agents".equals(s[0]) && "audit".equals(s[2]) && "unenroll".equals(s[3]) ? "audit_unenroll" : null;
            default -> null;
        };
    }
}
