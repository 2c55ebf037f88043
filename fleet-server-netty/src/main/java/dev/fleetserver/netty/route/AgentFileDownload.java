package dev.fleetserver.netty.route;

import dev.fleetserver.core.FleetCore;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.upload.UploadService;
import dev.fleetserver.netty.http.Exchange;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * {@code GET /api/fleet/agents/files/{fileId}/{fileName}} on the management API: a file an agent uploaded, as Kibana
 * serves it (the same headers), streamed chunk by chunk from the store, one chunk in memory at a time.
 */
final class AgentFileDownload {
    private AgentFileDownload() {
    }

    static UploadService uploads(FleetCore core) {
        UploadService u = core.uploads();
        if (u == null) {
            throw new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "file not found");
        }
        return u;
    }

    /** Answers the request (authorized already). */
    static void handle(FleetCore core, Exchange ex) {
        String fileId = ex.param("fileId");
        String fileName = ex.param("fileName");
        ex.releaseRequest();
        UploadService uploads = uploads(core);
        uploads.download(fileId).whenComplete((download, t) -> {
            if (t != null) {
                ex.fail(t);
                return;
            }
            Map<CharSequence, String> headers = new LinkedHashMap<>();
            headers.put(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            headers.put(HttpHeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"" + quoted(fileName) + "\"");
            headers.put(HttpHeaderNames.CACHE_CONTROL, "max-age=31536000, immutable");
            headers.put("X-Content-Type-Options", "nosniff");
            ex.respondStream(HttpResponseStatus.OK, headers, new Exchange.BodyParts() {
                @Override
                public int count() {
                    return download.chunks().size();
                }

                @Override
                public CompletableFuture<byte[]> part(int i) {
                    return uploads.read(download, i);
                }
            });
        });
    }

    /** The name as a quoted-string: no quotes, backslashes or control characters. */
    private static String quoted(String name) {
        StringBuilder b = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            b.append(c == '"' || c == '\\' || Character.isISOControl(c) ? '_' : c);
        }
        return b.toString();
    }
}
