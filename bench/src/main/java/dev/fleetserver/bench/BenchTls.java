package dev.fleetserver.bench;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * TLS for {@code bench --tls}: a CA and a server certificate for {@code 127.0.0.1} made fresh per invocation (ECDSA
 * P-256 or RSA 2048, the CA of the same kind, as an operator's PKI would be), and the generators' client context.
 */
final class BenchTls {
    private BenchTls() {
    }

    /** The files of one PKI: the server's certificate and key, and the CA the agents trust. */
    record Pki(Path certificate, Path key, Path ca) {
    }

    /** Writes {@code ca.crt}, {@code server.crt}, {@code server.key} under {@code dir}. */
    static Pki makePki(Path dir, String kind) throws Exception {
        Files.createDirectories(dir);
        KeyPair caKeys = keys(kind);
        X509Certificate ca = sign("bench CA", caKeys, null, caKeys.getPrivate());
        KeyPair serverKeys = keys(kind);
        X509Certificate server = sign("fleet-server", serverKeys, ca, caKeys.getPrivate());
        Path crt = Files.writeString(dir.resolve("server.crt"), pem(server));
        Path key = Files.writeString(dir.resolve("server.key"), pem(new JcaPKCS8Generator(serverKeys.getPrivate(), null)));
        Path caFile = Files.writeString(dir.resolve("ca.crt"), pem(ca));
        return new Pki(crt, key, caFile);
    }

    private static KeyPair keys(String kind) throws Exception {
        switch (kind) {
            case "ecdsa" -> {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                g.initialize(new ECGenParameterSpec("secp256r1"));
                return g.generateKeyPair();
            }
            case "rsa" -> {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048);
                return g.generateKeyPair();
            }
            default -> throw new IllegalArgumentException("--tls: expected off, ecdsa or rsa, got " + kind);
        }
    }

    private static X509Certificate sign(String name, KeyPair keys, X509Certificate issuer, PrivateKey signer)
            throws Exception {
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + name);
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                issuer == null ? subject : new X500Name(issuer.getSubjectX500Principal().getName()),
                BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(7))), subject, keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(issuer == null));
        if (issuer == null) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
        }
        String algorithm = signer.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(signer)));
    }

    private static String pem(Object o) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        }
        return out.toString();
    }

    /**
     * The generators' client context: trusts {@code ca}, BoringSSL when it loads. Whether a connection may resume
     * is decided per connection ({@link AgentSimulator} names its peer only when sessions are kept).
     */
    static SslContext client(Path ca) throws IOException {
        // Room for every agent's session of one generator process, kept as long as the server honours it.
        return SslContextBuilder.forClient().trustManager(ca.toFile())
                .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                .sessionCacheSize(100_000).sessionTimeout(86_400).build();
    }
}
