package dev.conntrack.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's HTTP/1.1 client against a scripted server on a local socket (plain HTTP: the TLS
 * layer is the JDK's, exercised against the real kube-apiserver by the API server tier and by
 * {@link KubeClientTlsTest}).
 */
class KubeClientTest {
    /** A request as the server saw it. */
    record Seen(int connection, String requestLine, Map<String, String> headers, String body) {
    }

    /** Each accepted connection answers requests with the next scripted handler until one says close. */
    interface Answer {
        /** Writes the response; returns false to close the connection afterwards. */
        boolean write(Seen request, OutputStream out) throws IOException;
    }

    static final class Server implements AutoCloseable {
        final ServerSocket socket;
        final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
        final List<Seen> seen = new CopyOnWriteArrayList<>();
        final AtomicInteger connections = new AtomicInteger();
        final List<Socket> open = new CopyOnWriteArrayList<>();
        final Thread acceptor;

        Server() throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(this::acceptLoop, "scripted-http");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + socket.getLocalPort());
        }

        private void acceptLoop() {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    open.add(s);
                    int id = connections.incrementAndGet();
                    Thread t = new Thread(() -> serve(s, id), "scripted-http-" + id);
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s, int id) {
            try (s) {
                InputStream in = new BufferedInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                while (true) {
                    String requestLine;
                    try {
                        requestLine = HttpLines.read(in, true);
                    } catch (IOException e) {
                        return; // the client closed the connection
                    }
                    Map<String, String> headers = new LinkedHashMap<>();
                    for (String line = HttpLines.read(in, false); !line.isEmpty(); line = HttpLines.read(in, false)) {
                        int colon = line.indexOf(':');
                        headers.put(line.substring(0, colon).toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
                    }
                    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
                    String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
                    Seen request = new Seen(id, requestLine, headers, body);
                    seen.add(request);
                    Answer answer = answers.poll(5, TimeUnit.SECONDS);
                    if (answer == null || !answer.write(request, out)) {
                        return;
                    }
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // connection ends
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (Socket s : open) {
                s.close();
            }
        }
    }

    static Answer json(int status, String body) {
        return (request, out) -> {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            return true;
        };
    }

    static Answer chunked(String... chunks) {
        return (request, out) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            for (String c : chunks) {
                byte[] b = c.getBytes(StandardCharsets.UTF_8);
                out.write((Integer.toHexString(b.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(b);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return true;
        };
    }

    private Server server;
    private KubeClient client;

    private KubeClient client(String token, String impersonate, Duration requestTimeout) throws IOException {
        server = new Server();
        ApiServerConfig config = new ApiServerConfig(server.uri(), null, null, null,
                token == null ? null : BearerToken.fixed(token), impersonate);
        client = new KubeClient(config, Duration.ofSeconds(2), requestTimeout);
        return client;
    }

    @AfterEach
    void stop() throws IOException {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void sendsMethodPathHeadersAndBodyAndReturnsTheAnswer() throws Exception {
        KubeClient c = client("tok", "system:node:n1", Duration.ofSeconds(5));
        server.answers.add(json(200, "{\"kind\":\"List\"}"));
        server.answers.add(json(201, "{\"created\":\"é\"}"));
        server.answers.add(json(200, "{}"));

        assertThat(c.get("/apis/x/v1/things?fieldSelector=metadata.name%3Dn1")).isEqualTo("{\"kind\":\"List\"}");
        assertThat(c.post("/api/v1/namespaces/default/events", "{\"message\":\"ü\"}")).isEqualTo("{\"created\":\"é\"}");
        assertThat(c.patch("/apis/x/v1/things/n1/status", KubeClient.JSON_PATCH, "[]")).isEqualTo("{}");

        Seen get = server.seen.get(0);
        assertThat(get.requestLine()).isEqualTo("GET /apis/x/v1/things?fieldSelector=metadata.name%3Dn1 HTTP/1.1");
        assertThat(get.headers()).containsEntry("host", "127.0.0.1:" + server.socket.getLocalPort())
                // Plain http: the token is never sent (a credential on the wire); over https it is (KubeClientTlsTest).
                .doesNotContainKey("authorization").containsEntry("impersonate-user", "system:node:n1")
                .containsEntry("accept", "application/json").doesNotContainKey("content-type").doesNotContainKey("content-length");
        Seen post = server.seen.get(1);
        assertThat(post.requestLine()).isEqualTo("POST /api/v1/namespaces/default/events HTTP/1.1");
        assertThat(post.headers()).containsEntry("content-type", "application/json")
                .containsEntry("content-length", String.valueOf("{\"message\":\"ü\"}".getBytes(StandardCharsets.UTF_8).length));
        assertThat(post.body()).isEqualTo("{\"message\":\"ü\"}");
        Seen patch = server.seen.get(2);
        assertThat(patch.requestLine()).isEqualTo("PATCH /apis/x/v1/things/n1/status HTTP/1.1");
        assertThat(patch.headers()).containsEntry("content-type", "application/json-patch+json");
        // Kept alive: all three on one connection.
        assertThat(server.seen).extracting(Seen::connection).containsOnly(1);
        assertThat(c.idleConnections()).isEqualTo(1);
    }

    @Test
    void withoutTokenOrImpersonationThoseHeadersAreLeftOut() throws Exception {
        KubeClient c = client(null, null, Duration.ofSeconds(5));
        server.answers.add(json(200, "{}"));
        c.get("/api");
        assertThat(server.seen.get(0).headers()).doesNotContainKeys("authorization", "impersonate-user");
    }

    @Test
    void tooManyRequestsCarriesTheServersRetryAfter() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add((request, out) -> {
            out.write(("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 12\r\nContent-Length: 2\r\n\r\n{}")
                    .getBytes(StandardCharsets.US_ASCII));
            return true;
        });
        assertThatThrownBy(() -> c.get("/api")).isInstanceOfSatisfying(KubeApiException.class, e -> {
            assertThat(e.code()).isEqualTo(429);
            assertThat(e.retryAfterSeconds()).isEqualTo(12);
        });
    }

    @Test
    void anErrorStatusBecomesAnExceptionWithCodePathAndBody() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add(json(404, "{\"reason\":\"NotFound\"}"));
        server.answers.add(json(200, "{\"ok\":true}"));
        assertThatThrownBy(() -> c.get("/apis/x/v1/things/missing?watch=false"))
                .isInstanceOfSatisfying(KubeApiException.class, e -> assertThat(e.code()).isEqualTo(404))
                .hasMessage("HTTP 404 from /apis/x/v1/things/missing: {\"reason\":\"NotFound\"}");
        // The error's body was read to its end: the connection is still good.
        assertThat(c.get("/api")).isEqualTo("{\"ok\":true}");
        assertThat(server.connections.get()).isEqualTo(1);
    }

    @Test
    void chunkedAnswersAreJoined() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add(chunked("{\"items\":", "[1,2,3]", "}"));
        server.answers.add(json(200, "{}"));
        assertThat(c.get("/list")).isEqualTo("{\"items\":[1,2,3]}");
        c.get("/again");
        assertThat(server.connections.get()).isEqualTo(1);
    }

    @Test
    void connectionCloseFromTheServerIsHonoured() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add((request, out) -> {
            out.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}".getBytes(StandardCharsets.US_ASCII));
            return false;
        });
        server.answers.add((request, out) -> {
            // Neither length nor chunked: the body runs to the end of the connection.
            out.write("HTTP/1.0 200 OK\r\n\r\n{\"until\":\"close\"}".getBytes(StandardCharsets.US_ASCII));
            return false;
        });
        assertThat(c.get("/a")).isEqualTo("{}");
        assertThat(c.idleConnections()).isZero();
        assertThat(c.get("/b")).isEqualTo("{\"until\":\"close\"}");
        assertThat(server.connections.get()).isEqualTo(2);
    }

    @Test
    void aKeptConnectionTheServerClosedIsReplacedAndTheRequestSentAgain() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        // Answers with keep-alive, then closes the connection anyway (an idle timeout on its side).
        server.answers.add((request, out) -> {
            json(200, "{\"n\":1}").write(request, out);
            out.flush();
            return false;
        });
        server.answers.add(json(200, "{\"n\":2}"));
        assertThat(c.get("/one")).isEqualTo("{\"n\":1}");
        assertThat(c.idleConnections()).isEqualTo(1);
        // The server has closed its end (on loopback the client's side sees it at once).
        await().atMost(Duration.ofSeconds(5)).until(() -> server.open.get(0).isClosed());
        assertThat(c.patch("/two", KubeClient.MERGE_PATCH, "{}")).isEqualTo("{\"n\":2}");
        assertThat(server.connections.get()).isEqualTo(2);
        assertThat(server.seen).extracting(Seen::requestLine).containsExactly("GET /one HTTP/1.1", "PATCH /two HTTP/1.1");
    }

    @Test
    void aServerThatDoesNotAnswerIsATimeoutWithCodeZero() throws Exception {
        KubeClient c = client("t", null, Duration.ofMillis(300));
        server.answers.add((request, out) -> {
            sleep(3000);
            return false;
        });
        long started = System.nanoTime();
        assertThatThrownBy(() -> c.get("/slow"))
                .isInstanceOfSatisfying(KubeApiException.class, e -> assertThat(e.code()).isZero())
                .hasMessageStartingWith("API server unreachable:");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void aServerThatTricklesBytesIsCutOffAtTheRequestTimeout() throws Exception {
        KubeClient c = client("t", null, Duration.ofMillis(500));
        server.answers.add((request, out) -> {
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < 100; i++) {
                out.write('x');
                out.flush();
                sleep(100);
            }
            return false;
        });
        long started = System.nanoTime();
        assertThatThrownBy(() -> c.get("/trickle")).isInstanceOf(KubeApiException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void refusedConnectionIsUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        KubeClient c = new KubeClient(new ApiServerConfig(URI.create("http://127.0.0.1:" + port), null, null, null, null, null),
                Duration.ofSeconds(1), Duration.ofSeconds(1));
        assertThatThrownBy(() -> c.get("/api"))
                .isInstanceOfSatisfying(KubeApiException.class, e -> assertThat(e.code()).isZero())
                .hasMessageStartingWith("API server unreachable:");
    }

    @Test
    void aWatchStreamsEventsAsTheyComeAndClosingItFromAnotherThreadEndsTheRead() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        BlockingQueue<String> release = new LinkedBlockingQueue<>();
        server.answers.add((request, out) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String event = "{\"type\":\"ADDED\"}\n";
            out.write((Integer.toHexString(event.length()) + "\r\n" + event + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            try {
                release.poll(10, TimeUnit.SECONDS); // then hold the watch open
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        });
        InputStream in = c.stream("/watch?watch=true", Duration.ofSeconds(30), Duration.ZERO);
        byte[] buf = new byte[64];
        int n = in.read(buf);
        assertThat(new String(buf, 0, n, StandardCharsets.UTF_8)).isEqualTo("{\"type\":\"ADDED\"}\n");
        List<Throwable> ended = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try {
                in.read(buf);
            } catch (IOException e) {
                ended.add(e);
            }
        });
        reader.start();
        Thread.sleep(200);
        in.close();
        reader.join(3000);
        assertThat(reader.isAlive()).isFalse();
        assertThat(ended).hasSize(1);
        release.add("done");
    }

    @Test
    void aWatchEndedByTheServerReadsToTheEnd() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add(chunked("{\"type\":\"BOOKMARK\"}\n", "{\"type\":\"MODIFIED\"}\n"));
        try (InputStream in = c.stream("/watch", Duration.ofSeconds(30), Duration.ZERO)) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("{\"type\":\"BOOKMARK\"}\n{\"type\":\"MODIFIED\"}\n");
        }
        assertThat(server.seen.get(0).requestLine()).isEqualTo("GET /watch HTTP/1.1");
    }

    @Test
    void aWatchRefusedByTheServerIsAnExceptionWithItsAnswer() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add(json(403, "{\"reason\":\"Forbidden\"}"));
        assertThatThrownBy(() -> c.stream("/watch?x=1", Duration.ofSeconds(5), Duration.ZERO))
                .isInstanceOfSatisfying(KubeApiException.class, e -> assertThat(e.code()).isEqualTo(403))
                .hasMessageContaining("Forbidden");
    }

    @Test
    void aWatchIsBoundedByItsTimeout() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add((request, out) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            sleep(5000);
            return false;
        });
        long started = System.nanoTime();
        try (InputStream in = c.stream("/watch", Duration.ofMillis(400), Duration.ZERO)) {
            assertThatThrownBy(in::read).isInstanceOf(IOException.class);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void aWatchThatFallsSilentIsGivenUpAfterItsSilenceLimitNotItsDeadline() throws Exception {
        // A connection whose path died without a word (a NAT mapping gone): nothing more arrives.
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        server.answers.add((request, out) -> {
            out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String event = "{\"type\":\"BOOKMARK\"}\n";
            out.write((Integer.toHexString(event.length()) + "\r\n" + event + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            sleep(10_000);
            return false;
        });
        try (InputStream in = c.stream("/watch", Duration.ofSeconds(60), Duration.ofMillis(500))) {
            byte[] buf = new byte[64];
            assertThat(in.read(buf)).as("what came before the silence is read").isPositive();
            long started = System.nanoTime();
            assertThatThrownBy(() -> in.read(buf)).isInstanceOf(IOException.class).hasMessageContaining("no byte for 500 ms");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isBetween(Duration.ofMillis(400), Duration.ofSeconds(3));
        }
    }

    @Test
    void concurrentCallsEachGetAConnectionAndTheirOwnAnswer() throws Exception {
        KubeClient c = client("t", null, Duration.ofSeconds(5));
        for (int i = 0; i < 8; i++) {
            server.answers.add((request, out) -> {
                String path = request.requestLine().split(" ")[1];
                return json(200, "{\"path\":\"" + path + "\"}").write(request, out);
            });
        }
        List<Thread> threads = new ArrayList<>();
        List<String> wrong = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 8; i++) {
            String path = "/p" + i;
            Thread t = new Thread(() -> {
                try {
                    String answer = c.get(path);
                    if (!answer.equals("{\"path\":\"" + path + "\"}")) {
                        wrong.add(path + " -> " + answer);
                    }
                } catch (KubeApiException e) {
                    wrong.add(path + " -> " + e.getMessage());
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        assertThat(wrong).isEmpty();
        assertThat(server.seen).hasSize(8);
    }

    @Test
    void aPathPrefixInTheServerUriIsKept() throws Exception {
        server = new Server();
        client = new KubeClient(new ApiServerConfig(URI.create(server.uri() + "/prefix/"), null, null, null, null, null),
                Duration.ofSeconds(1), Duration.ofSeconds(2));
        server.answers.add(json(200, "{}"));
        client.get("/api");
        assertThat(server.seen.get(0).requestLine()).isEqualTo("GET /prefix/api HTTP/1.1");
    }

    @Test
    void onlyHttpsAndHttpAreAccepted() {
        assertThatThrownBy(() -> new KubeClient(new ApiServerConfig(URI.create("ftp://h"), "x", null, null, null, null),
                Duration.ofSeconds(1), Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
