package dev.fleetserver.core.artifact;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.zip.DeflaterOutputStream;

/** Artifact documents as Kibana's Endpoint writes them to {@code .fleet-artifacts}. */
public final class ArtifactFixtures {
    private ArtifactFixtures() {
    }

    /** A zlib-compressed artifact of {@code decoded}. */
    public static ObjectNode zlibArtifact(String identifier, byte[] decoded) {
        byte[] encoded = zlib(decoded);
        ObjectNode doc = Json.object();
        doc.put("identifier", identifier);
        doc.put("compression_algorithm", "zlib");
        doc.put("encryption_algorithm", "none");
        doc.put("encoded_sha256", sha256(encoded));
        doc.put("encoded_size", encoded.length);
        doc.put("decoded_sha256", sha256(decoded));
        doc.put("decoded_size", decoded.length);
        doc.put("created", "2026-01-01T00:00:00.000Z");
        doc.put("package_name", "endpoint");
        doc.put("body", Base64.getEncoder().encodeToString(encoded));
        return doc;
    }

    public static byte[] zlib(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(out)) {
            z.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
