package dev.conntrack.agent.kube;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The few API server calls the agent makes, over the JDK's HTTP client (HTTP/1.1: a watch holds
 * one connection, the other calls share a pooled one). Every request carries the current bearer
 * token (re-read as the file rotates) and the impersonation header when configured.
 */
public class KubeClient implements AutoCloseable {
    public static final String JSON = "application/json";
    public static final String JSON_PATCH = "application/json-patch+json";
    public static final String MERGE_PATCH = "application/merge-patch+json";

    private final ApiServerConfig config;
    private final HttpClient http;
    private final Duration requestTimeout;

    public KubeClient(ApiServerConfig config, Duration connectTimeout, Duration requestTimeout) {
        this.config = config;
        this.requestTimeout = requestTimeout;
        try {
            this.http = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .sslContext(TlsContext.of(config))
                    .connectTimeout(connectTimeout)
                    .executor(shortLivedThreads())
                    .build();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("TLS set-up for " + config.server() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * The client's own default pool keeps idle threads for a minute, and an idle agent calls the
     * server about once a minute: threads that end after a few idle seconds are not there between
     * calls. Unbounded like the default (a bounded pool can stall the client's internal tasks).
     */
    private static ExecutorService shortLivedThreads() {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 5, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "kube-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** For subclasses that answer the calls themselves (tests, simulations). */
    protected KubeClient() {
        this.config = null;
        this.http = null;
        this.requestTimeout = null;
    }

    public ApiServerConfig config() {
        return config;
    }

    public String get(String path) throws KubeApiException {
        return send(request(path).GET().timeout(requestTimeout));
    }

    public String post(String path, String json) throws KubeApiException {
        return send(request(path).timeout(requestTimeout).header("Content-Type", JSON)
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    public String patch(String path, String contentType, String body) throws KubeApiException {
        return send(request(path).timeout(requestTimeout).header("Content-Type", contentType)
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body)));
    }

    /**
     * A streaming GET (a watch): the open body, to be read until the server ends it and closed by
     * the caller. {@code timeout} bounds the whole response; the server's own timeoutSeconds
     * should end it first.
     */
    public InputStream stream(String path, Duration timeout) throws KubeApiException {
        HttpResponse<InputStream> response;
        try {
            response = http.send(request(path).GET().timeout(timeout).build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KubeApiException(0, "interrupted");
        }
        if (response.statusCode() / 100 != 2) {
            String body;
            try (InputStream in = response.body()) {
                body = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
            } catch (IOException e) {
                body = "";
            }
            throw failed(response.statusCode(), path, body);
        }
        return response.body();
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(config.server() + path)).header("Accept", JSON);
        String token = config.token() == null ? null : config.token().value();
        if (token != null && !token.isEmpty()) {
            b.header("Authorization", "Bearer " + token);
        }
        if (config.impersonate() != null) {
            b.header("Impersonate-User", config.impersonate());
        }
        return b;
    }

    private String send(HttpRequest.Builder request) throws KubeApiException {
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KubeApiException(0, "interrupted");
        }
        if (response.statusCode() / 100 != 2) {
            throw failed(response.statusCode(), response.request().uri().getRawPath(), response.body());
        }
        return response.body();
    }

    private static KubeApiException unreachable(IOException e) {
        return new KubeApiException(0, "API server unreachable: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
    }

    private static KubeApiException failed(int code, String path, String body) {
        String text = body == null ? "" : body.length() > 500 ? body.substring(0, 500) + "..." : body;
        return new KubeApiException(code, "HTTP " + code + " from " + path + ": " + text);
    }

    @Override
    public void close() {
        // The JDK 17 HTTP client has no close(): its selector thread ends once the client is unreachable.
    }
}
