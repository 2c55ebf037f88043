package dev.fleetserver.es;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import dev.fleetserver.core.util.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * File chunk documents of the {@code .fleet-fileds-*} data indices: {@code {"@timestamp","last","bid","sha2","data"}}
 * with {@code data} a CBOR byte string, as the original writes them and Kibana reads them. Encoded with Jackson's
 * CBOR generator into one array of exactly the document's size (a chunk is up to 4 MiB: no second copy); the data is
 * read back from a document's {@code _source}, whether Elasticsearch renders it as CBOR bytes or as base64 JSON.
 */
public final class FileChunkCodec {
    /** The media type chunk documents are sent with. */
    public static final String CBOR = "application/cbor";
    private static final CBORFactory FACTORY = new CBORFactory();

    private FileChunkCodec() {
    }

    /** The CBOR document of one chunk: {@code length} bytes of {@code data} from {@code offset}. */
    public static byte[] encode(long timestampMillis, boolean last, String bid, String sha2, byte[] data, int offset,
                                int length) {
        // The fields before the data, then the data's byte-string header and the data itself: encoding them with an
        // empty byte string gives everything but the data, whose header then only differs in its length.
        byte[] head = head(timestampMillis, last, bid, sha2);
        int header = byteStringHeader(length);
        byte[] out = new byte[head.length + header + length];
        System.arraycopy(head, 0, out, 0, head.length);
        writeByteStringHeader(out, head.length, length, header);
        System.arraycopy(data, offset, out, head.length + header, length);
        return out;
    }

    /** The document up to, not including, the byte string of {@code data}. */
    private static byte[] head(long timestampMillis, boolean last, String bid, String sha2) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(96 + bid.length() * 3 + sha2.length());
        try (CBORGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject(null, 5);
            g.writeNumberField("@timestamp", timestampMillis);
            g.writeBooleanField("last", last);
            g.writeStringField("bid", bid);
            g.writeStringField("sha2", sha2);
            g.writeFieldName("data");
            g.writeBinary(new byte[0]);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] whole = out.toByteArray();
        // The empty byte string is the last byte (0x40): a definite-length map has no end marker.
        if (whole[whole.length - 1] != 0x40) {
            throw new IllegalStateException("unexpected CBOR encoding of an empty byte string");
        }
        return Arrays.copyOf(whole, whole.length - 1);
    }

    /** Bytes of a CBOR byte-string header (major type 2) for {@code length} (RFC 8949 §3.1). */
    static int byteStringHeader(int length) {
        if (length < 24) {
            return 1;
        }
        if (length < 0x100) {
            return 2;
        }
        if (length < 0x10000) {
            return 3;
        }
        return 5;
    }

    private static void writeByteStringHeader(byte[] out, int at, int length, int header) {
        switch (header) {
            case 1 -> out[at] = (byte) (0x40 | length);
            case 2 -> {
                out[at] = 0x58;
                out[at + 1] = (byte) length;
            }
            case 3 -> {
                out[at] = 0x59;
                out[at + 1] = (byte) (length >>> 8);
                out[at + 2] = (byte) length;
            }
            default -> {
                out[at] = 0x5a;
                out[at + 1] = (byte) (length >>> 24);
                out[at + 2] = (byte) (length >>> 16);
                out[at + 3] = (byte) (length >>> 8);
                out[at + 4] = (byte) length;
            }
        }
    }

    /**
     * The {@code data} of a chunk from a get-document answer ({@code {"_source":{"data":...},...}}) in JSON, where
     * Elasticsearch renders the bytes as base64; null when the document has none.
     */
    public static byte[] dataOfGetResponse(byte[] json) {
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

    /** Decodes a chunk document encoded by {@link #encode} (or by anyone else in CBOR): its fields, for tests and tools. */
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

    /** A decoded chunk document; absent fields are null (or -1). */
    public record Decoded(long timestampMillis, Boolean last, String bid, String sha2, byte[] data) {
    }
}
