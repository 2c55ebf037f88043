package dev.fleetserver.es.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.fleetserver.core.util.Json;
import java.io.IOException;

/** A response from Elasticsearch: status and body (parsed lazily). */
public record EsResponse(int status, byte[] body) {

    public JsonNode json() {
        if (body == null || body.length == 0) {
            return MissingNode.getInstance();
        }
        try {
            return Json.MAPPER.readTree(body);
        } catch (IOException e) {
            return MissingNode.getInstance();
        }
    }

    public boolean ok() {
        return status >= 200 && status < 300;
    }

    /** {@code error.type} of an error response, or empty. */
    public String errorType() {
        return json().path("error").path("type").asText("");
    }

    /** A short description for logs and errors: {@code elastic fail 404: index_not_found_exception: no such index}. */
    public String describe() {
        JsonNode err = json().path("error");
        if (err.isObject()) {
            return "elastic fail " + status + ": " + err.path("type").asText() + ": " + err.path("reason").asText();
        }
        return "elastic fail " + status;
    }
}
