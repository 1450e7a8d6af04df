package dev.conntrack.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conntrack.testing.SettableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiServerConfigTest {
    static final String EC_SEC1 = "-----BEGIN EC PRIVATE KEY-----" + "\n"
            + "MHcCAQEEICpl/bA1xO+EDwdfxr0jWfvrda4swQSOga217BO6owueoAoGCCqGSM49" + "\n"
            + "AwEHoUQDQgAECcQe5aCpKF1pt0kzz3KzI9MFwVIcHOplnN7VI+A3oo9xaD1Nv2kC" + "\n"
            + "tdjHbjboUgiFp9ovnjErXqoTYB/gfRpmrw==" + "\n"
            + "-----END EC PRIVATE KEY-----" + "\n";
    static final String EC_PKCS8 = "-----BEGIN PRIVATE KEY-----" + "\n"
            + "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKmX9sDXE74QPB1/G" + "\n"
            + "vSNZ++t1rizBBI6BrbXsE7qjC56hRANCAAQJxB7loKkoXWm3STPPcrMj0wXBUhwc" + "\n"
            + "6mWc3tUj4Deij3FoPU2/aQK12MduNuhSCIWn2i+eMSteqhNgH+B9Gmav" + "\n"
            + "-----END PRIVATE KEY-----" + "\n";
    static final String EC_CERT = "-----BEGIN CERTIFICATE-----" + "\n"
            + "MIIBejCCAR+gAwIBAgIUX/BCz2zpFy125kPzf0Le0Rg69H8wCgYIKoZIzj0EAwIw" + "\n"
            + "EjEQMA4GA1UEAwwHdGVzdC1lYzAeFw0yNjExMjUwMzQwMjdaFw0zNjExMjIwMzQw" + "\n"
            + "MjdaMBIxEDAOBgNVBAMMB3Rlc3QtZWMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC" + "\n"
            + "AAQJxB7loKkoXWm3STPPcrMj0wXBUhwc6mWc3tUj4Deij3FoPU2/aQK12MduNuhS" + "\n"
            + "CIWn2i+eMSteqhNgH+B9Gmavo1MwUTAdBgNVHQ4EFgQU7ILeYtBWOwPtACju1H3+" + "\n"
            + "o/UbVY4wHwYDVR0jBBgwFoAU7ILeYtBWOwPtACju1H3+o/UbVY4wDwYDVR0TAQH/" + "\n"
            + "BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA9nI16Zk6Iarq3p26i/Oy9x2RJv5A" + "\n"
            + "fpSWDyyEF3poObUCIQCgPjx3NJvNnPoWppipSJNSNcVXkW0Mb7NeScJrv0kBTA==" + "\n"
            + "-----END CERTIFICATE-----" + "\n";
    static final String RSA_PKCS1 = "-----BEGIN RSA PRIVATE KEY-----" + "\n"
            + "MIICXQIBAAKBgQCtrCa8rYaYcvZuFv4ysfcjaXG0TvBaMhi9UJC41tpPEipPExf2" + "\n"
            + "bwzjTym3GCbC2inbowLx0GjqtBItlDZZHO9bMJRZXW1apQqAh+iNHfL04JI3ADD8" + "\n"
            + "l4wp0NSPE7ZvwtHCnwVguHk7m4Npd6zazg4SLWbJCyW+nXMVnj7aJs78SwIDAQAB" + "\n"
            + "AoGASqUbYS0UFKIU2Ox5BUEIf+fqPx1OoPW3PGdMTKXL3wBnvuTt/7VrTKfRvihb" + "\n"
            + "QJSUORqvQU/aSEZtKbnyQgr1tP6P+LsViPT5WNLLJiZrw/lVEn+QcLVKr5tduTxz" + "\n"
            + "VI6nZWUQTGhfet9mGHjDeXqsuuTM8+dxHyKiSxY1R2/opMECQQDc9gPd9jxjtrSB" + "\n"
            + "KYm/ZhLPgLg+ONnuvDviROR/V+uKxy8scSvBaAUcAMfDsxx4JUVuDSTPNYcCQJ9K" + "\n"
            + "5jtwUBy1AkEAyTZxURggaeBufO5WKvviYkWp5z22kLcqJpHOQj3vTDfDP3y1k7b0" + "\n"
            + "WGKkVLGrvVCAZEAK2x7DKzdIFGEArJtU/wJBAIRDKqtpYlqZmdCayZ5s/iOBPEfa" + "\n"
            + "hfEWcY4OiOwE97QZaI5kq7lYh35spSbqhscQIFAww/DYbJkXj4Io8DlZauUCQBMQ" + "\n"
            + "HmJBd+iwA6fAaNd/r64BzZwD48UIJW0sCS+LcJ129v+P0CAjiDjLd6gygQPZmaBl" + "\n"
            + "1OF3o6P3g9OycP7pZH8CQQChyc/DYd8+uIqSwkMEMrIrfpt0bCdEN6ILUAvKbf+Q" + "\n"
            + "yPbT4woczAukJYjVt2B3u2qZlzree0cIuWpvRAbW0siS" + "\n"
            + "-----END RSA PRIVATE KEY-----" + "\n";
    static final String RSA_CERT = "-----BEGIN CERTIFICATE-----" + "\n"
            + "MIICAjCCAWugAwIBAgIUIs+UEDqnxGBbMG6HAONxBddHI90wDQYJKoZIhvcNAQEL" + "\n"
            + "BQAwEzERMA8GA1UEAwwIdGVzdC1yc2EwHhcNMjYxMTI1MDM0MDMxWhcNMzYxMTIy" + "\n"
            + "MDM0MDMxWjATMREwDwYDVQQDDAh0ZXN0LXJzYTCBnzANBgkqhkiG9w0BAQEFAAOB" + "\n"
            + "jQAwgYkCgYEArawmvK2GmHL2bhb+MrH3I2lxtE7wWjIYvVCQuNbaTxIqTxMX9m8M" + "\n"
            + "408ptxgmwtop26MC8dBo6rQSLZQ2WRzvWzCUWV1tWqUKgIfojR3y9OCSNwAw/JeM" + "\n"
            + "KdDUjxO2b8LRwp8FYLh5O5uDaXes2s4OEi1myQslvp1zFZ4+2ibO/EsCAwEAAaNT" + "\n"
            + "MFEwHQYDVR0OBBYEFExH7+nVMXZVlOKYgEBvoRp8VPt4MB8GA1UdIwQYMBaAFExH" + "\n"
            + "7+nVMXZVlOKYgEBvoRp8VPt4MA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQEL" + "\n"
            + "BQADgYEAo3JtRSwVe7jp/qntIz9qBLk3v4wZ94dVEpim/7YIXjaA+eu+Sl13i5iE" + "\n"
            + "wwS8f6BR3D9SiiaYAIOB8BHkQ1Gtc5VClFrQb2STkHtpqQ1t59ayb+exxXHwSRHo" + "\n"
            + "DnZ8EbjWTrLFVi4/AlInErKnhLH/ePSGKSMSwbybAZKOUIHcHqc=" + "\n"
            + "-----END CERTIFICATE-----" + "\n";

    @TempDir
    Path dir;

    @Test
    void readsEcKeysInSec1AndPkcs8AndRsaKeysInPkcs1() throws Exception {
        assertSignsFor(Pem.privateKey(EC_SEC1), Pem.certificates(EC_CERT).get(0), "SHA256withECDSA");
        assertSignsFor(Pem.privateKey(EC_PKCS8), Pem.certificates(EC_CERT).get(0), "SHA256withECDSA");
        assertSignsFor(Pem.privateKey(RSA_PKCS1), Pem.certificates(RSA_CERT).get(0), "SHA256withRSA");
    }

    @Test
    void readsEveryCertificateOfABundleAndRefusesTextWithoutOne() throws Exception {
        assertThat(Pem.certificates(EC_CERT + RSA_CERT)).hasSize(2);
        assertThatThrownBy(() -> Pem.certificates("not a certificate")).isInstanceOf(GeneralSecurityException.class);
        assertThatThrownBy(() -> Pem.privateKey(EC_CERT)).isInstanceOf(GeneralSecurityException.class);
    }

    @Test
    void kubeconfigWithFilesRelativeToItAndImpersonationFromTheEnvironment() throws Exception {
        Files.writeString(dir.resolve("ca.crt"), RSA_CERT);
        Files.writeString(dir.resolve("client.crt"), EC_CERT);
        Files.writeString(dir.resolve("client.key"), EC_SEC1);
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                clusters:
                  - cluster:
                      certificate-authority: ca.crt
                      server: https://127.0.0.1:6443/
                    name: test
                  - cluster:
                      server: https://10.0.0.1
                    name: other
                contexts:
                  - context: {cluster: test, user: me}
                    name: test
                current-context: test
                kind: Config
                users:
                  - name: me
                    user:
                      client-certificate: client.crt
                      client-key: client.key
                """);
        ApiServerConfig config = ApiServerConfig.fromEnvironment(Map.of("KUBECONFIG", kubeconfig.toString(),
                "KUBERNETES_IMPERSONATE_USERNAME", "system:serviceaccount:ns:agent"), dir.resolve("no-sa"), dir.resolve("none"));
        assertThat(config.server()).hasToString("https://127.0.0.1:6443");
        assertThat(config.caPem()).isEqualTo(RSA_CERT);
        assertThat(config.clientCertPem()).isEqualTo(EC_CERT);
        assertThat(config.clientKeyPem()).isEqualTo(EC_SEC1);
        assertThat(config.token()).isNull();
        assertThat(config.impersonate()).isEqualTo("system:serviceaccount:ns:agent");
        // The TLS context builds from it: CA trusted, client key usable.
        assertThat(TlsContext.of(config).getProtocol()).isEqualTo("TLS");
    }

    @Test
    void kubeconfigWithInlineDataAndToken() throws Exception {
        Path kubeconfig = dir.resolve("config");
        Files.writeString(kubeconfig, """
                clusters: [{name: c, cluster: {server: "https://[::1]:443", certificate-authority-data: %s}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                users: [{name: u, user: {token: abc}}]
                """.formatted(Base64.getEncoder().encodeToString(RSA_CERT.getBytes())));
        ApiServerConfig config = ApiServerConfig.fromEnvironment(Map.of("KUBECONFIG", kubeconfig + ":/other"),
                dir.resolve("no-sa"), dir.resolve("none"));
        assertThat(config.server()).hasToString("https://[::1]:443");
        assertThat(config.caPem()).isEqualTo(RSA_CERT);
        assertThat(config.token().value()).isEqualTo("abc");
    }

    @Test
    void inAPodTheServiceAccountTokenAndCaUnlessTheEnvironmentOverrides() throws Exception {
        Path sa = Files.createDirectories(dir.resolve("sa"));
        Files.writeString(sa.resolve("ca.crt"), RSA_CERT);
        Files.writeString(sa.resolve("token"), "t1\n");
        Map<String, String> pod = Map.of("KUBERNETES_SERVICE_HOST", "fd00::1", "KUBERNETES_SERVICE_PORT", "6443");
        ApiServerConfig config = ApiServerConfig.fromEnvironment(pod, sa, dir.resolve("none"));
        assertThat(config.server()).hasToString("https://[fd00::1]:6443");
        assertThat(config.caPem()).isEqualTo(RSA_CERT);
        assertThat(config.token().value()).isEqualTo("t1");

        Files.writeString(dir.resolve("other-ca.crt"), EC_CERT);
        ApiServerConfig bench = ApiServerConfig.fromEnvironment(Map.of("KUBERNETES_MASTER", "https://127.0.0.1:26443",
                "KUBERNETES_AUTH_TOKEN", "fixed", "KUBERNETES_CERTS_CA_FILE", dir.resolve("other-ca.crt").toString(),
                "KUBERNETES_AUTH_TRYKUBECONFIG", "false", "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false",
                "KUBERNETES_SERVICE_HOST", "10.0.0.1"), sa, dir.resolve("none"));
        assertThat(bench.server()).hasToString("https://127.0.0.1:26443");
        assertThat(bench.caPem()).isEqualTo(EC_CERT);
        assertThat(bench.token().value()).isEqualTo("fixed");

        assertThatThrownBy(() -> ApiServerConfig.fromEnvironment(Map.of(), sa, dir.resolve("none")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no API server");
    }

    @Test
    void rotatedTokenFileIsReadAgainAfterAMinuteAndTheLastTokenKeptWhenItVanishes() throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, "first");
        SettableClock clock = new SettableClock(Instant.parse("2026-01-01T00:00:00Z"));
        BearerToken token = BearerToken.fromFile(file, clock);
        assertThat(token.value()).isEqualTo("first");
        Files.writeString(file, "second");
        clock.advance(Duration.ofSeconds(30));
        assertThat(token.value()).as("within the minute").isEqualTo("first");
        clock.advance(Duration.ofSeconds(31));
        assertThat(token.value()).isEqualTo("second");
        Files.delete(file);
        clock.advance(Duration.ofMinutes(2));
        assertThat(token.value()).isEqualTo("second");
    }

    private static void assertSignsFor(PrivateKey key, X509Certificate cert, String algorithm) throws Exception {
        Signature s = Signature.getInstance(algorithm);
        s.initSign(key);
        s.update(new byte[] {1, 2, 3});
        byte[] signature = s.sign();
        Signature v = Signature.getInstance(algorithm);
        v.initVerify(cert.getPublicKey());
        v.update(new byte[] {1, 2, 3});
        assertThat(v.verify(signature)).isTrue();
    }
}
