package dev.conntrack.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * The agent's HTTP endpoints, on the JDK's HTTP server through the Prometheus client's exporter:
 * <ul>
 * <li>the metrics port (all addresses, the node's network): {@code /metrics} and {@code /} for
 *     Prometheus, {@code /-/healthy} (the exporter answers), {@code /-/live} and {@code /-/ready};</li>
 * <li>the probe port (loopback only): {@code /-/live} and {@code /-/ready} for the kubelet, which
 *     reaches a host-network pod's loopback. Nothing from the network can hold it up, so slow or
 *     hostile clients of the metrics port cannot make the probes fail.</li>
 * </ul>
 * Every request has one deadline to arrive in full and one to be answered (the JDK server's
 * maxReqTime and maxRspTime), so a client that sends a byte now and then is cut off.
 */
final class AgentEndpoints implements AutoCloseable {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(AgentEndpoints.class.getName());
    /** Seconds for a request to arrive in full, and for its answer to be sent. */
    static final String REQUEST_SECONDS = "5";
    static final String RESPONSE_SECONDS = "10";

    private final HTTPServer metrics;
    private final HttpServer probes;

    private AgentEndpoints(HTTPServer metrics, HttpServer probes) {
        this.metrics = metrics;
        this.probes = probes;
    }

    /**
     * Starts what is asked for (a port of 0 leaves that endpoint out), each on its own: a port in
     * use costs that endpoint only, said in the log (a missing probe listener then fails the
     * kubelet's probes, which is how a node shows a port conflict).
     */
    static AgentEndpoints start(int metricsPort, int probePort, PrometheusRegistry registry, AgentHealth health) {
        // Read once, when the JDK's server classes load: set before the first server starts.
        System.setProperty("sun.net.httpserver.maxReqTime", REQUEST_SECONDS);
        System.setProperty("sun.net.httpserver.maxRspTime", RESPONSE_SECONDS);
        HTTPServer metrics = null;
        HttpServer probes = null;
        if (metricsPort > 0) {
            try {
                metrics = HTTPServer.builder().port(metricsPort).registry(registry)
                        .defaultHandler(new HealthHandler(health, new MetricsHandler(registry)))
                        .executorService(Executors.newSingleThreadExecutor(daemon("conntrack-metrics"))).buildAndStart();
            } catch (IOException | RuntimeException e) {
                // Metrics are not worth failing enforcement for: say so and carry on.
                LOG.warning("metrics port " + metricsPort + " unavailable: " + e.getMessage());
            }
        }
        if (probePort > 0) {
            try {
                probes = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), probePort), 8);
                // Answered on the server's own dispatcher thread: a probe's answer is a few bytes
                // from memory, and only the kubelet reaches this listener.
                probes.createContext("/", new HealthHandler(health, null));
                probes.start();
            } catch (IOException | RuntimeException e) {
                LOG.warning("probe port 127.0.0.1:" + probePort + " unavailable: " + e.getMessage());
                probes = null;
            }
        }
        return new AgentEndpoints(metrics, probes);
    }

    int metricsPort() {
        return metrics == null ? 0 : metrics.getPort();
    }

    int probePort() {
        return probes == null ? 0 : probes.getAddress().getPort();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        if (metrics != null) {
            metrics.close();
        }
        if (probes != null) {
            probes.stop(0);
        }
    }

    /** /-/live and /-/ready from {@link AgentHealth}; other paths to FALLBACK (metrics), or 404. */
    static final class HealthHandler implements HttpHandler {
        private final AgentHealth health;
        private final HttpHandler fallback;

        HealthHandler(AgentHealth health, HttpHandler fallback) {
            this.health = health;
            this.fallback = fallback;
        }

        @Override
        public void handle(HttpExchange exchange) throws IOException {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                long now = System.nanoTime();
                switch (path) {
                    case "/-/live" -> respond(exchange, health.live(now) ? 200 : 503, health.describe(now));
                    case "/-/ready" -> respond(exchange, health.ready(now) ? 200 : 503, health.describe(now));
                    default -> {
                        if (fallback != null) {
                            fallback.handle(exchange);
                        } else {
                            respond(exchange, 404, "not found: /-/live or /-/ready");
                        }
                    }
                }
            }
        }

        private static void respond(HttpExchange exchange, int status, String text) throws IOException {
            byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            boolean head = "HEAD".equals(exchange.getRequestMethod());
            exchange.sendResponseHeaders(status, head ? -1 : body.length);
            if (!head) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        }
    }
}
