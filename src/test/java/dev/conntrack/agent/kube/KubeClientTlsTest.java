package dev.conntrack.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS side of the agent's client: it trusts exactly the configured CA and checks that the
 * server's certificate names the host it connected to. Certificates are made with the JDK's keytool.
 */
class KubeClientTlsTest {
    @TempDir
    Path dir;

    /** A self-signed EC certificate with SUBJECT_ALT_NAME in a PKCS12 store; returns its PEM. */
    private String keystore(String alias, String san) throws Exception {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Path store = dir.resolve(alias + ".p12");
        run(List.of(keytool.toString(), "-genkeypair", "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=" + alias, "-ext", "SAN=" + san, "-validity", "2", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", "secret", "-keypass", "secret"));
        Path pem = dir.resolve(alias + ".pem");
        run(List.of(keytool.toString(), "-exportcert", "-rfc", "-alias", alias, "-keystore", store.toString(),
                "-storepass", "secret", "-file", pem.toString()));
        return Files.readString(pem, StandardCharsets.US_ASCII);
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
    }

    /** Serves one JSON answer per connection over TLS with the given store. */
    private SSLServerSocket serve(String alias) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(dir.resolve(alias + ".p12"))) {
            ks.load(in, "secret".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "secret".toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 10, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                    InputStream in = new BufferedInputStream(s.getInputStream());
                    while (!HttpLines.read(in, true).isEmpty()) {
                        // request line and headers
                    }
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"tls\":true}".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException e) {
                    // a refused handshake, or the server closing
                }
            }
        }, "tls-server");
        t.setDaemon(true);
        t.start();
        return server;
    }

    private static KubeClient client(int port, String caPem) {
        return new KubeClient(new ApiServerConfig(URI.create("https://127.0.0.1:" + port), caPem, null, null,
                BearerToken.fixed("t"), null), Duration.ofSeconds(2), Duration.ofSeconds(5));
    }

    @Test
    void talksToAServerWhoseCertificateTheCaSignedForThisAddress() throws Exception {
        String pem = keystore("good", "IP:127.0.0.1");
        try (SSLServerSocket server = serve("good"); KubeClient c = client(server.getLocalPort(), pem)) {
            assertThat(c.get("/api")).isEqualTo("{\"tls\":true}");
        }
    }

    @Test
    void refusesACertificateForAnotherName() throws Exception {
        String pem = keystore("other", "DNS:other.example");
        try (SSLServerSocket server = serve("other"); KubeClient c = client(server.getLocalPort(), pem)) {
            // Refused by the hostname check of the handshake, not by any other connection failure.
            assertThatThrownBy(() -> c.get("/api"))
                    .isInstanceOfSatisfying(KubeApiException.class, e -> assertThat(e.code()).isZero())
                    .hasMessageContaining("unreachable")
                    .hasCauseInstanceOf(SSLHandshakeException.class)
                    .hasRootCauseInstanceOf(CertificateException.class)
                    .hasRootCauseMessage("No subject alternative names matching IP address 127.0.0.1 found");
        }
    }

    @Test
    void refusesACertificateThatTheConfiguredCaDidNotSign() throws Exception {
        keystore("good", "IP:127.0.0.1");
        String stranger = keystore("stranger", "IP:127.0.0.1");
        try (SSLServerSocket server = serve("good"); KubeClient c = client(server.getLocalPort(), stranger)) {
            // Refused because no trusted CA signed the chain (PKIX path building), although the name matches.
            assertThatThrownBy(() -> c.get("/api"))
                    .isInstanceOfSatisfying(KubeApiException.class, e -> assertThat(e.code()).isZero())
                    .hasCauseInstanceOf(SSLHandshakeException.class)
                    .satisfies(e -> assertThat(rootCause(e)).isInstanceOf(CertPathBuilderException.class)
                            .hasMessageContaining("unable to find valid certification path to requested target"));
        }
    }

    @Test
    void aRotatedClusterCaIsTrustedWithoutARestart() throws Exception {
        String stranger = keystore("stranger", "IP:127.0.0.1");
        String good = keystore("good", "IP:127.0.0.1");
        Path ca = dir.resolve("ca.crt");
        Files.writeString(ca, stranger);
        try (SSLServerSocket server = serve("good");
             KubeClient c = new KubeClient(new ApiServerConfig(URI.create("https://127.0.0.1:" + server.getLocalPort()), stranger,
                     null, null, BearerToken.fixed("t"), null, ca), Duration.ofSeconds(2), Duration.ofSeconds(5))) {
            assertThatThrownBy(() -> c.get("/api")).isInstanceOf(KubeApiException.class);
            // The kubelet writes the new CA into the mounted ca.crt.
            Files.writeString(ca, good);
            assertThat(c.get("/api")).isEqualTo("{\"tls\":true}");
        }
    }

    @Test
    void aServerThatTricklesTheHandshakeIsCutOffAtTheDeadline() throws Exception {
        String pem = keystore("good", "IP:127.0.0.1");
        try (java.net.ServerSocket trickle = new java.net.ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (java.net.Socket s = trickle.accept()) {
                    OutputStream out = s.getOutputStream();
                    // A TLS handshake record header, then its body one byte every 300 ms: each read
                    // gets something well within a per-read timeout, the handshake never ends.
                    out.write(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00});
                    for (int i = 0; i < 60; i++) {
                        out.write(0x02);
                        out.flush();
                        Thread.sleep(300);
                    }
                } catch (IOException | InterruptedException e) {
                    // the client gave up: what should happen
                }
            }, "trickle");
            t.setDaemon(true);
            t.start();
            long started = System.nanoTime();
            try (KubeClient c = client(trickle.getLocalPort(), pem)) {
                assertThatThrownBy(() -> c.get("/api")).isInstanceOf(KubeApiException.class);
            }
            // The connect timeout (2 s) bounds the whole handshake, not each read.
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        }
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
