package dev.fleetserver.es;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.io.IOException;
import java.util.Base64;

/**
 * File chunks as they are kept in the {@code .fleet-fileds-*} data streams: CBOR documents
 * {@code {"@timestamp", "last", "bid", "sha2", "data"}} whose {@code data} is a byte string (a {@code binary} field
 * with {@code store: true}), read back with {@code GET <index>/_doc/<id>?stored_fields=data&_source=false} and
 * {@code Accept: application/cbor}, so no chunk is ever base64-encoded on the wire.
 */
public final class FileChunkCbor {
    /** The media type of chunk documents and of the answers reading them. */
    public static final String MEDIA_TYPE = "application/cbor";
    private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory());

    private FileChunkCbor() {
    }

    /**
     * The chunk document: {@code @timestamp} (epoch millis), {@code last}, {@code bid} (the file's id), {@code sha2}
     * (hex SHA-256 of {@code data}) and {@code data}.
     */
    public static byte[] encode(long timestampMillis, boolean last, String bid, String sha2, byte[] data) {
        ObjectNode doc = CBOR.createObjectNode();
        doc.put("@timestamp", timestampMillis);
        doc.put("last", last);
        doc.put("bid", bid);
        doc.put("sha2", sha2);
        doc.put("data", data);
        try {
            return CBOR.writeValueAsBytes(doc);
        } catch (IOException e) {
            throw new IllegalStateException("CBOR encoding failed", e);
        }
    }

    /**
     * The {@code data} of a stored-fields {@code GET} answer ({@code fields.data[0]}), or null when the answer says
     * the document was not found or has no data.
     *
     * @throws IOException when the answer is not such a CBOR document
     */
    public static byte[] storedData(byte[] getAnswer) throws IOException {
        JsonNode answer = CBOR.readTree(getAnswer);
        if (answer == null || !answer.isObject()) {
            throw new IOException("not a CBOR map");
        }
        if (answer.path("found").isBoolean() && !answer.path("found").booleanValue()) {
            return null;
        }
        JsonNode data = answer.path("fields").path("data").path(0);
        if (data.isBinary()) {
            return data.binaryValue();
        }
        if (data.isTextual()) {
            try {
                return Base64.getDecoder().decode(data.textValue());
            } catch (IllegalArgumentException e) {
                throw new IOException("chunk data is neither bytes nor base64", e);
            }
        }
        return null;
    }
}
