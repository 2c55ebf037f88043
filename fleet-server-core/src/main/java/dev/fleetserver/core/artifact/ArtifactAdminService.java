package dev.fleetserver.core.artifact;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.error.FleetError;
import dev.fleetserver.core.error.FleetException;
import dev.fleetserver.core.model.DocumentIds;
import dev.fleetserver.core.model.FleetRepository;
import dev.fleetserver.core.util.Json;
import dev.fleetserver.core.util.Times;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The management API's artifacts: {@code .fleet-artifacts} documents in the shape Kibana's Endpoint writes, so that
 * Elastic Defend can be served without Kibana. A document's id is {@code <identifier>-<decoded_sha256>} (Kibana's),
 * so versions of one artifact live side by side until deleted.
 *
 * <p>An artifact is checked before it is stored: both hashes are 64 lowercase hex digits; {@code body} is base64 of
 * bytes that hash to {@code encoded_sha256} and number {@code encoded_size}; those bytes, decompressed per
 * {@code compression_algorithm} ({@code none} or {@code zlib}), hash to {@code decoded_sha256} and number
 * {@code decoded_size}; {@code encryption_algorithm} is {@code none}. Missing sizes, {@code created},
 * {@code package_name} and {@code relative_url} are filled in.
 */
public final class ArtifactAdminService {
    private static final Set<String> FIELDS = Set.of("identifier", "decoded_sha256", "encoded_sha256", "body",
            "compression_algorithm", "encryption_algorithm", "created", "decoded_size", "encoded_size",
            "package_name", "type", "relative_url");
    /** Largest artifact accepted once decompressed: Endpoint's lists are a few MiB; this bounds a zlib bomb. */
    static final long MAX_DECODED_BYTES = 512L * 1024 * 1024;

    private final FleetRepository repo;
    private final ArtifactService artifacts;
    private final Clock clock;

    public ArtifactAdminService(FleetRepository repo, ArtifactService artifacts, Clock clock) {
        this.repo = repo;
        this.artifacts = artifacts;
        this.clock = clock;
    }

    /** {@code PUT /api/fleet/artifacts/{identifier}}: stores (or replaces) one artifact; answers it without its body. */
    public CompletableFuture<ObjectNode> put(String identifier, JsonNode body) {
        ObjectNode doc = validated(identifier, body);
        String id = identifier + "-" + doc.get("decoded_sha256").textValue();
        return repo.putArtifact(id, doc).thenApply(seq -> {
            artifacts.forget(identifier, doc.get("decoded_sha256").textValue());
            return item(id, doc);
        });
    }

    /** {@code GET /api/fleet/artifacts/{identifier}/{decoded_sha256}}: the artifact without its body. */
    public CompletableFuture<ObjectNode> get(String identifier, String decodedSha256) {
        String id = docId(identifier, decodedSha256);
        return repo.artifact(id).thenApply(d -> item(id, d.orElseThrow(() -> notFound(identifier, decodedSha256)).source()));
    }

    /** {@code DELETE /api/fleet/artifacts/{identifier}/{decoded_sha256}}. */
    public CompletableFuture<ObjectNode> delete(String identifier, String decodedSha256) {
        String id = docId(identifier, decodedSha256);
        return repo.artifact(id).thenCompose(d -> {
            if (d.isEmpty()) {
                throw notFound(identifier, decodedSha256);
            }
            return repo.deleteArtifact(id);
        }).thenApply(seq -> {
            artifacts.forget(identifier, decodedSha256);
            ObjectNode out = Json.object();
            out.put("id", id);
            out.put("deleted", true);
            return out;
        });
    }

    private static String docId(String identifier, String decodedSha256) {
        checkIdentifier(identifier);
        if (!isLowerSha256(decodedSha256)) {
            throw bad("decoded_sha256 must be 64 lowercase hexadecimal digits");
        }
        return identifier + "-" + decodedSha256;
    }

    /** The identifier, with {@code -<sha256>} appended, must make a usable document id. */
    private static void checkIdentifier(String identifier) {
        if (identifier == null || identifier.isEmpty()) {
            throw bad("identifier is required");
        }
        String problem = DocumentIds.problem("identifier", identifier + "-" + "0".repeat(64));
        if (problem != null) {
            throw bad(problem + " (with -<decoded_sha256> appended)");
        }
    }

    private static FleetException notFound(String identifier, String sha) {
        return new FleetException(FleetError.MANAGEMENT_NOT_FOUND, "artifact " + identifier + " " + sha + " not found");
    }

    private static ObjectNode item(String id, ObjectNode source) {
        ObjectNode item = source.deepCopy();
        item.remove("body");
        item.put("id", id);
        ObjectNode out = Json.object();
        out.set("item", item);
        return out;
    }

    ObjectNode validated(String identifier, JsonNode body) {
        checkIdentifier(identifier);
        if (!(body instanceof ObjectNode in)) {
            throw bad("the body must be a JSON object");
        }
        in.fieldNames().forEachRemaining(f -> {
            if (!FIELDS.contains(f)) {
                throw bad("unknown field [" + f + "]");
            }
        });
        String given = optionalText(in, "identifier");
        if (given != null && !given.equals(identifier)) {
            throw bad("identifier [" + given + "] differs from the path's [" + identifier + "]");
        }
        String decodedSha = requiredText(in, "decoded_sha256");
        String encodedSha = requiredText(in, "encoded_sha256");
        for (String f : new String[] {"decoded_sha256", "encoded_sha256"}) {
            if (!isLowerSha256(in.get(f).textValue())) {
                throw bad(f + " must be 64 lowercase hexadecimal digits");
            }
        }
        byte[] encoded;
        try {
            encoded = Base64.getDecoder().decode(requiredText(in, "body"));
        } catch (IllegalArgumentException e) {
            throw bad("body is not base64: " + e.getMessage());
        }
        if (!hex(sha256().digest(encoded)).equals(encodedSha)) {
            throw bad("body does not hash to encoded_sha256");
        }
        checkSize(in, "encoded_size", encoded.length);
        String compression = optionalText(in, "compression_algorithm");
        compression = compression == null ? "none" : compression;
        String encryption = optionalText(in, "encryption_algorithm");
        encryption = encryption == null ? "none" : encryption;
        if (!encryption.equals("none")) {
            throw bad("encryption_algorithm must be none");
        }
        long decodedSize;
        String decodedHash;
        switch (compression) {
            case "none" -> {
                decodedSize = encoded.length;
                decodedHash = encodedSha;
            }
            case "zlib" -> {
                MessageDigest digest = sha256();
                decodedSize = inflate(encoded, digest);
                decodedHash = hex(digest.digest());
            }
            default -> throw bad("compression_algorithm must be none or zlib");
        }
        if (!decodedHash.equals(decodedSha)) {
            throw bad("the decoded body does not hash to decoded_sha256");
        }
        checkSize(in, "decoded_size", decodedSize);
        String created = optionalText(in, "created");
        if (created != null && Times.parse(created) == null) {
            throw bad("created must be an RFC 3339 timestamp");
        }
        ObjectNode doc = Json.object();
        doc.put("identifier", identifier);
        doc.put("compression_algorithm", compression);
        doc.put("encryption_algorithm", encryption);
        doc.put("encoded_sha256", encodedSha);
        doc.put("encoded_size", encoded.length);
        doc.put("decoded_sha256", decodedSha);
        doc.put("decoded_size", decodedSize);
        doc.put("created", created != null ? created : Times.millis(clock.instant()));
        String pkg = optionalText(in, "package_name");
        doc.put("package_name", pkg != null ? pkg : "endpoint");
        String type = optionalText(in, "type");
        if (type != null) {
            doc.put("type", type);
        }
        String url = optionalText(in, "relative_url");
        doc.put("relative_url", url != null ? url : "/api/fleet/artifacts/" + identifier + "/" + decodedSha);
        doc.put("body", in.get("body").textValue());
        return doc;
    }

    /** Inflates zlib data into {@code digest}; the decoded length. */
    private static long inflate(byte[] encoded, MessageDigest digest) {
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(encoded);
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            while (!inflater.finished()) {
                int n = inflater.inflate(buf);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw bad("body is not complete zlib data");
                }
                total += n;
                if (total > MAX_DECODED_BYTES) {
                    throw bad("the decoded body is larger than " + MAX_DECODED_BYTES + " bytes");
                }
                digest.update(buf, 0, n);
            }
            if (inflater.getRemaining() > 0) {
                throw bad("body has bytes after its zlib data");
            }
            return total;
        } catch (DataFormatException e) {
            throw bad("body is not zlib data: " + e.getMessage());
        } finally {
            inflater.end();
        }
    }

    private static void checkSize(ObjectNode in, String field, long actual) {
        JsonNode size = in.get(field);
        if (size == null || size.isNull()) {
            return;
        }
        if (!size.canConvertToLong() || !size.isIntegralNumber() || size.longValue() != actual) {
            throw bad(field + " must be " + actual);
        }
    }

    private static String requiredText(ObjectNode in, String field) {
        String v = optionalText(in, field);
        if (v == null || v.isEmpty()) {
            throw bad(field + " is required");
        }
        return v;
    }

    private static String optionalText(ObjectNode in, String field) {
        JsonNode v = in.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw bad(field + " must be a string");
        }
        return v.textValue();
    }

    static boolean isLowerSha256(String s) {
        if (s == null || s.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static FleetException bad(String message) {
        return new FleetException(FleetError.MANAGEMENT_BAD_REQUEST, message);
    }
}
