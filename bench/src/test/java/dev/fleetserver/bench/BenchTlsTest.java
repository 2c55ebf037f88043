package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BenchTlsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"ecdsa", "rsa"})
    void thePkiHasAServerCertificateFor127001SignedByItsCaWithAKeyOfTheAskedKind(String kind) throws Exception {
        BenchTls.Pki pki = BenchTls.makePki(dir, kind);
        X509Certificate server = read(pki.certificate());
        X509Certificate ca = read(pki.ca());
        server.verify(ca.getPublicKey());
        assertThat(server.getPublicKey().getAlgorithm()).isEqualTo(kind.equals("rsa") ? "RSA" : "EC");
        assertThat(server.getSubjectAlternativeNames()).contains(List.of(7, "127.0.0.1"));
        assertThat(Files.readString(pki.key())).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(BenchTls.client(pki.ca())).isNotNull();
    }

    private static X509Certificate read(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }
}
