package dev.fleetserver.es.store;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import dev.fleetserver.core.util.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;

/**
 * File chunk documents of the {@code .fleet-fileds-*} data indices, both directions (agent uploads and files
 * delivered to agents): CBOR maps {@code {"@timestamp", "last", "bid", "sha2", "data"}} whose {@code data} is a byte
 * string (a {@code binary} field with {@code store: true}), as the original writes them and Kibana reads them. Encoded
 * and decoded with Jackson's CBOR support; chunks are never base64-encoded on the way in, and read back either as
 * CBOR stored fields ({@link #storedData}) or from a JSON {@code _source} ({@link #sourceData}).
 */
public final class FileChunkCbor {
    /** The media type of chunk documents and of the answers reading them in CBOR. */
    public static final String MEDIA_TYPE = "application/cbor";
    private static final CBORFactory FACTORY = new CBORFactory();
    private static final ObjectMapper CBOR = new ObjectMapper(FACTORY);
    /** Room for everything but the data: the field names, a timestamp, the file id and a hex hash. */
    private static final int HEAD_ROOM = 128;

    private FileChunkCbor() {
    }

    /** The chunk document with all of {@code data}. */
    public static byte[] encode(long timestampMillis, boolean last, String bid, String sha2, byte[] data) {
        return encode(timestampMillis, last, bid, sha2, data, 0, data.length);
    }

    /**
     * The chunk document of {@code length} bytes of {@code data} from {@code offset}: {@code @timestamp} (epoch
     * millis), {@code last}, {@code bid} (the file's id), {@code sha2} (hex SHA-256 of the data) and {@code data}, a
     * definite-length map of these five in this order.
     */
    public static byte[] encode(long timestampMillis, boolean last, String bid, String sha2, byte[] data, int offset,
                                int length) {
        // Sized for the whole document up front, so the buffer does not grow (and copy) while a 4 MiB chunk is written.
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + HEAD_ROOM + 3 * (bid.length() + sha2.length()));
        try (CBORGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject(null, 5);
            g.writeNumberField("@timestamp", timestampMillis);
            g.writeBooleanField("last", last);
            g.writeStringField("bid", bid);
            g.writeStringField("sha2", sha2);
            g.writeFieldName("data");
            g.writeBinary(data, offset, length);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("CBOR encoding of a chunk failed", e);
        }
        return out.toByteArray();
    }

    /**
     * The {@code data} of a stored-fields {@code GET} answered in CBOR ({@code fields.data[0]}), or null when the
     * answer says the document was not found or has no data.
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

    /**
     * The {@code data} of a chunk from a get-document answer in JSON ({@code {"_source":{"data":...},...}}), where
     * Elasticsearch renders the bytes as base64; null when the document has none.
     */
    public static byte[] sourceData(byte[] json) {
        try (JsonParser p = Json.MAPPER.getFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("_source".equals(name) && value == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String field = p.currentName();
                        JsonToken v = p.nextToken();
                        if ("data".equals(field) && (v == JsonToken.VALUE_STRING || v == JsonToken.VALUE_EMBEDDED_OBJECT)) {
                            return p.getBinaryValue();
                        }
                        p.skipChildren();
                    }
                    return null;
                }
                p.skipChildren();
            }
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("malformed chunk document", e);
        }
    }

    /** A chunk document's fields (for tests and tools); absent fields are null (or -1). */
    public static Decoded decode(byte[] cbor) {
        try (JsonParser p = FACTORY.createParser(cbor)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("a chunk document is a map");
            }
            long ts = -1;
            Boolean last = null;
            String bid = null;
            String sha2 = null;
            byte[] data = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                p.nextToken();
                switch (f) {
                    case "@timestamp" -> ts = p.getLongValue();
                    case "last" -> last = p.getBooleanValue();
                    case "bid" -> bid = p.getText();
                    case "sha2" -> sha2 = p.getText();
                    case "data" -> data = p.getBinaryValue();
                    default -> p.skipChildren();
                }
            }
            return new Decoded(ts, last, bid, sha2, data);
        } catch (IOException e) {
            throw new UncheckedIOException("malformed chunk document", e);
        }
    }

    /** A decoded chunk document. */
    public record Decoded(long timestampMillis, Boolean last, String bid, String sha2, byte[] data) {
    }
}
