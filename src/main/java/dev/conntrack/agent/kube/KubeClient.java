package dev.conntrack.agent.kube;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayDeque;
import javax.net.ssl.SSLSocketFactory;

/**
 * The few API server calls the agent makes, over plain HTTP/1.1 on blocking TLS sockets
 * ({@link HttpConnection}): a watch holds one connection for itself, the other calls reuse an idle
 * one when there is one. Every request carries the current bearer token (re-read as the file
 * rotates) and the impersonation header when configured. No threads of its own: each call runs on
 * its caller's thread (the JDK's {@code java.net.http} client, used before, kept a selector thread
 * and worker threads and loaded about 300 classes for the same few calls).
 */
public class KubeClient implements AutoCloseable {
    public static final String JSON = "application/json";
    public static final String JSON_PATCH = "application/json-patch+json";
    public static final String MERGE_PATCH = "application/merge-patch+json";
    /**
     * An idle connection older than this is closed instead of reused. Long enough to carry the
     * status heartbeat (60 s) on one connection, since a TLS handshake per heartbeat was a good
     * part of an idle agent's CPU. A connection that the server or a load balancer dropped
     * sooner fails before any answer, and the request is sent again on a new one.
     */
    static final Duration MAX_IDLE = Duration.ofSeconds(75);
    /** A body read into memory larger than this is refused: the agent's answers are a few KiB. */
    static final int MAX_BODY = 16 * 1024 * 1024;

    private final ApiServerConfig config;
    private volatile SSLSocketFactory tls;
    /** The CA the TLS factory trusts now (to notice a rotated one in config.caFile()). */
    private volatile String caPem;
    private final boolean plainHttp;
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(KubeClient.class.getName());
    private final String host;
    private final int port;
    private final String hostHeader;
    private final String basePath;
    private final int connectTimeoutMillis;
    private final Duration requestTimeout;
    /** Idle keep-alive connections, most recently used last. */
    private final ArrayDeque<HttpConnection> idle = new ArrayDeque<>();
    private boolean closed;

    public KubeClient(ApiServerConfig config, Duration connectTimeout, Duration requestTimeout) {
        this.config = config;
        this.requestTimeout = requestTimeout;
        this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, connectTimeout.toMillis()));
        URI server = config.server();
        String scheme = server.getScheme() == null ? "" : server.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw new IllegalArgumentException("API server " + server + ": only https (and http for tests) are supported");
        }
        String h = server.getHost();
        if (h == null) {
            throw new IllegalArgumentException("API server " + server + " has no host");
        }
        this.host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        int defaultPort = scheme.equals("https") ? 443 : 80;
        this.port = server.getPort() < 0 ? defaultPort : server.getPort();
        this.hostHeader = server.getPort() < 0 || server.getPort() == defaultPort ? h : h + ":" + server.getPort();
        String path = server.getRawPath() == null ? "" : server.getRawPath();
        this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        if (scheme.equals("https")) {
            try {
                this.tls = TlsContext.of(config).getSocketFactory();
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("TLS set-up for " + config.server() + " failed: " + e.getMessage(), e);
            }
            this.caPem = config.caPem();
        } else {
            this.tls = null;
            this.caPem = null;
        }
        this.plainHttp = scheme.equals("http");
    }

    /**
     * The TLS socket factory for a new connection: built again when the CA file changed since the
     * last one (the kubelet rewrites ca.crt when the cluster CA rotates), so a rotated CA is
     * trusted without a restart. Read on new connections only, which are rare (keep-alive).
     */
    private SSLSocketFactory tls() {
        Path file = config == null ? null : config.caFile();
        if (tls == null || file == null) {
            return tls;
        }
        try {
            String now = Files.readString(file);
            if (!now.equals(caPem)) {
                tls = TlsContext.of(config.withCa(now)).getSocketFactory();
                caPem = now;
                LOG.info("cluster CA in " + file + " changed: trusting the new one");
            }
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            LOG.warning("cluster CA in " + file + " not read again (" + e.getMessage() + "): keeping the one in use");
        }
        return tls;
    }

    /** For subclasses that answer the calls themselves (tests, simulations). */
    protected KubeClient() {
        this.config = null;
        this.tls = null;
        this.plainHttp = false;
        this.host = null;
        this.port = 0;
        this.hostHeader = null;
        this.basePath = null;
        this.connectTimeoutMillis = 0;
        this.requestTimeout = null;
    }

    public ApiServerConfig config() {
        return config;
    }

    public String get(String path) throws KubeApiException {
        return send("GET", path, null, null);
    }

    public String post(String path, String json) throws KubeApiException {
        return send("POST", path, JSON, json);
    }

    public String patch(String path, String contentType, String body) throws KubeApiException {
        return send("PATCH", path, contentType, body);
    }

    /**
     * A streaming GET (a watch): the open body, to be read until the server ends it and closed by
     * the caller. {@code timeout} bounds the whole response; the server's own timeoutSeconds
     * should end it first. {@code silence} bounds the wait for each next byte (Duration.ZERO:
     * none): a watch that asks for bookmarks hears from the API server about once a minute, so a
     * longer silence means its connection died on the way (a read then fails with an
     * IOException). Closing the stream closes its connection (also from another thread, which
     * ends a read blocked in it).
     */
    public InputStream stream(String path, Duration timeout, Duration silence) throws KubeApiException {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpConnection connection = null;
        try {
            connection = HttpConnection.open(host, port, tls(), connectTimeoutMillis);
            connection.deadline(deadline);
            connection.silence(silence);
            connection.writeRequest("GET", basePath + path, hostHeader, headers(null), null);
            HttpResponseHead response = connection.readResponse("GET");
            if (response.status() / 100 != 2) {
                String body = new String(readAll(response.body(), 4096, false), StandardCharsets.UTF_8);
                connection.close();
                throw failed(response, path, body);
            }
            return new StreamBody(response.body(), connection);
        } catch (IOException e) {
            if (connection != null) {
                connection.close();
            }
            throw unreachable(e);
        }
    }

    /** One request with a body read into memory; a reused connection the server has closed meanwhile is retried once on a new one. */
    private String send(String method, String path, String contentType, String body) throws KubeApiException {
        byte[] bytes = body == null ? null : body.getBytes(StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + requestTimeout.toNanos();
        for (int attempt = 0; ; attempt++) {
            HttpConnection connection = attempt == 0 ? takeIdle() : null;
            boolean reused = connection != null;
            boolean answered = false;
            try {
                if (connection == null) {
                    connection = HttpConnection.open(host, port, tls(), connectTimeoutMillis);
                }
                connection.deadline(deadline);
                connection.writeRequest(method, basePath + path, hostHeader, headers(contentType), bytes);
                HttpResponseHead response = connection.readResponse(method);
                answered = true;
                String text = new String(readAll(response.body(), MAX_BODY, true), StandardCharsets.UTF_8);
                if (response.keepAlive() && HttpBodies.complete(response.body())) {
                    release(connection);
                } else {
                    connection.close();
                }
                if (response.status() / 100 != 2) {
                    throw failed(response, rawPath(path), text);
                }
                return text;
            } catch (IOException e) {
                if (connection != null) {
                    connection.close();
                }
                // A kept-alive connection the server closed while it sat idle fails before any
                // answer: that request never reached the server, so it is sent again on a new one.
                if (!reused || answered || System.nanoTime() - deadline >= 0) {
                    throw unreachable(e);
                }
            }
        }
    }

    private String[] headers(String contentType) {
        // Never over plain http (tests and local set-ups use it): a token is a credential.
        String token = plainHttp || config.token() == null ? null : config.token().value();
        return new String[] {
            "Accept", JSON,
            "User-Agent", "conntrack-agent",
            "Authorization", token == null || token.isEmpty() ? null : "Bearer " + token,
            "Impersonate-User", config.impersonate(),
            "Content-Type", contentType,
        };
    }

    private synchronized HttpConnection takeIdle() {
        long now = System.nanoTime();
        HttpConnection c;
        while ((c = idle.pollLast()) != null) {
            if (!c.isClosed() && now - c.idleSince() < MAX_IDLE.toNanos()) {
                return c;
            }
            c.close();
        }
        return null;
    }

    private void release(HttpConnection connection) {
        connection.deadline(Long.MAX_VALUE);
        connection.markIdle(System.nanoTime());
        synchronized (this) {
            if (!closed) {
                idle.addLast(connection);
                return;
            }
        }
        connection.close();
    }

    /** Number of idle connections kept for reuse (tests). */
    synchronized int idleConnections() {
        return idle.size();
    }

    private static byte[] readAll(InputStream in, int limit, boolean failAboveLimit) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf, 0, buf.length)) >= 0) {
            if (out.size() + n > limit) {
                if (failAboveLimit) {
                    throw new IOException("response body larger than " + limit + " bytes");
                }
                out.write(buf, 0, limit - out.size());
                break;
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static String rawPath(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }

    private static KubeApiException unreachable(IOException e) {
        return new KubeApiException(0, "API server unreachable: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
    }

    private static KubeApiException failed(HttpResponseHead response, String path, String body) {
        String text = body == null ? "" : body.length() > 500 ? body.substring(0, 500) + "..." : body;
        int code = response.status();
        return new KubeApiException(code, "HTTP " + code + " from " + path + ": " + text, null, response.retryAfterSeconds());
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            for (HttpConnection c : idle) {
                c.close();
            }
            idle.clear();
        }
    }
}
