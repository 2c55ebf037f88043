package dev.fleetserver.netty.tls;

import dev.fleetserver.netty.config.SslConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLException;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.operator.InputDecryptorProvider;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Builds a server {@link SslContext} from {@link PemMaterial} and the settings. Keys may be PKCS#8 (plain or
 * encrypted), PKCS#1 RSA or SEC1 EC (plain or with the traditional {@code DEK-Info} encryption), as files made by
 * openssl or elasticsearch-certutil are; BouncyCastle reads them all, where the JDK alone reads only plain PKCS#8.
 * The key must belong to the first certificate: a mismatch is an error here rather than failed handshakes later.
 */
final class ServerContexts {
    private static final List<String> TLS13_SUITES =
            List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");

    /** Used for decryption only, and not registered JVM-wide: the JDK lacks some ciphers encrypted keys use. */
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    private ServerContexts() {
    }

    /** A built context and the certificate it presents. */
    record Built(SslContext context, X509Certificate leaf) {
    }

    static Built build(SslConfig config, PemMaterial material, SslProvider provider) throws IOException {
        X509Certificate[] chain = certificates(material.certificate(), "certificate");
        if (chain.length == 0) {
            throw new SSLException("ssl.certificate: no certificate found in the PEM data");
        }
        PrivateKey key = privateKey(material.key(), material.passphrase());
        checkKeyMatches(key, chain[0].getPublicKey());
        List<X509Certificate> authorities = new ArrayList<>();
        for (byte[] ca : material.authorities()) {
            authorities.addAll(List.of(certificates(ca, "certificate_authorities")));
        }
        SslContextBuilder b = SslContextBuilder.forServer(key, chain)
                .sslProvider(provider)
                .clientAuth(switch (config.clientAuthentication()) {
                    case NONE -> ClientAuth.NONE;
                    case OPTIONAL -> ClientAuth.OPTIONAL;
                    case REQUIRED -> ClientAuth.REQUIRE;
                });
        if (!authorities.isEmpty()) {
            b.trustManager(authorities.toArray(X509Certificate[]::new));
        }
        if (!config.supportedProtocols().isEmpty()) {
            b.protocols(config.supportedProtocols());
        }
        if (!config.cipherSuites().isEmpty()) {
            b.ciphers(ciphers(config));
        }
        return new Built(b.build(), chain[0]);
    }

    /**
     * The configured suites; as in Go (elastic-agent-libs), they restrict TLS 1.2 and below only, so TLS 1.3 keeps its
     * suites unless some are named explicitly.
     */
    static List<String> ciphers(SslConfig config) {
        List<String> suites = new ArrayList<>(config.cipherSuites());
        boolean tls13Allowed = config.supportedProtocols().isEmpty() || config.supportedProtocols().contains("TLSv1.3");
        if (tls13Allowed && suites.stream().noneMatch(TLS13_SUITES::contains)) {
            suites.addAll(TLS13_SUITES);
        }
        return suites;
    }

    private static X509Certificate[] certificates(byte[] pem, String setting) throws SSLException {
        try {
            return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem)).stream()
                    .map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new SSLException("ssl." + setting + ": not a PEM certificate: " + e.getMessage(), e);
        }
    }

    static PrivateKey privateKey(byte[] pem, char[] passphrase) throws SSLException {
        Object parsed;
        try (PEMParser parser = new PEMParser(new InputStreamReader(new ByteArrayInputStream(pem), StandardCharsets.US_ASCII))) {
            do {
                parsed = parser.readObject();
            } while (parsed != null && !isKey(parsed));
        } catch (IOException | RuntimeException e) {
            throw new SSLException("ssl.key: not a PEM private key: " + e.getMessage(), e);
        }
        if (parsed == null) {
            throw new SSLException("ssl.key: no private key found in the PEM data");
        }
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try {
            if (parsed instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            if (parsed instanceof PEMKeyPair pair) {
                // The public half is optional in SEC1 EC keys: read only the private one.
                return converter.getPrivateKey(pair.getPrivateKeyInfo());
            }
            if (passphrase == null) {
                throw new SSLException("ssl.key: the key is encrypted and no key_passphrase or key_passphrase_path is set");
            }
            if (parsed instanceof PEMEncryptedKeyPair encrypted) {
                return converter.getPrivateKey(encrypted.decryptKeyPair(
                        new JcePEMDecryptorProviderBuilder().setProvider(BC).build(passphrase)).getPrivateKeyInfo());
            }
            InputDecryptorProvider decryptor = new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(passphrase);
            return converter.getPrivateKey(((PKCS8EncryptedPrivateKeyInfo) parsed).decryptPrivateKeyInfo(decryptor));
        } catch (SSLException e) {
            throw e;
        } catch (Exception e) {
            throw new SSLException("ssl.key: cannot read the private key (wrong passphrase?): " + e.getMessage(), e);
        }
    }

    private static boolean isKey(Object o) {
        return o instanceof PrivateKeyInfo || o instanceof PEMKeyPair || o instanceof PEMEncryptedKeyPair
                || o instanceof PKCS8EncryptedPrivateKeyInfo;
    }

    /** Signs a probe with the key and verifies it with the certificate's public key. */
    private static void checkKeyMatches(PrivateKey key, PublicKey certificateKey) throws SSLException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "Ed448" -> "Ed448";
            case "DSA" -> "SHA256withDSA";
            default -> null;
        };
        if (algorithm == null) {
            return;
        }
        try {
            byte[] probe = "fleet-server key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificateKey);
            verifier.update(probe);
            if (verifier.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // a key of another type than the certificate's lands here too
        }
        throw new SSLException("ssl.key does not belong to the certificate in ssl.certificate");
    }
}
