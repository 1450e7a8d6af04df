package dev.conntrack.agent;

import dev.conntrack.agent.kube.HttpLines;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The agent's metrics endpoint: {@code /metrics} (and {@code /}) in the Prometheus text format,
 * {@code /-/healthy} for the liveness probe, on one thread that answers one request per
 * connection. It replaces the Prometheus client's exporter, whose server
 * ({@code com.sun.net.httpserver}) kept a dispatcher and two timer threads and loaded about 60
 * classes on every node for a scrape every few seconds. A client that sends nothing is cut off
 * after {@link #CLIENT_TIMEOUT_MILLIS}, so it can hold the endpoint up for that long at most.
 */
final class MetricsServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(MetricsServer.class.getName());
    static final int CLIENT_TIMEOUT_MILLIS = 5_000;
    /** Header lines read at most; a scraper sends a handful. */
    static final int MAX_HEADERS = 100;
    static final String HEALTHY = "Exporter is healthy.\n";

    private final ServerSocket socket;
    private final PrometheusRegistry registry;
    private final PrometheusTextFormatWriter format = new PrometheusTextFormatWriter(false);
    private final Thread thread;

    private MetricsServer(ServerSocket socket, PrometheusRegistry registry) {
        this.socket = socket;
        this.registry = registry;
        this.thread = new Thread(this::serve, "conntrack-metrics");
        this.thread.setDaemon(true);
    }

    /** Listens on PORT (0: any free port) on all addresses, as the exporter did. */
    static MetricsServer start(int port, PrometheusRegistry registry) throws IOException {
        ServerSocket socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(port), 16);
        MetricsServer server = new MetricsServer(socket, registry);
        server.thread.start();
        return server;
    }

    int port() {
        return socket.getLocalPort();
    }

    private void serve() {
        while (!socket.isClosed()) {
            try (Socket client = socket.accept()) {
                client.setSoTimeout(CLIENT_TIMEOUT_MILLIS);
                answer(client.getInputStream(), client.getOutputStream());
            } catch (SocketException e) {
                if (socket.isClosed()) {
                    return;
                }
                LOG.log(Level.FINE, "metrics client: " + e.getMessage());
            } catch (IOException | RuntimeException e) {
                // One bad scrape (a client that hangs up, a callback that throws) must not end the endpoint.
                LOG.log(Level.FINE, "metrics request failed", e);
            }
        }
    }

    /** Reads one request from IN and writes its answer to OUT. */
    void answer(InputStream raw, OutputStream out) throws IOException {
        InputStream in = new BufferedInputStream(raw, 1024);
        String requestLine = HttpLines.read(in, true);
        for (int n = 0; !HttpLines.read(in, false).isEmpty(); n++) {
            if (n >= MAX_HEADERS) {
                respond(out, 431, "text/plain; charset=utf-8", bytes("too many header lines\n"), true);
                return;
            }
        }
        String[] parts = requestLine.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/")) {
            respond(out, 400, "text/plain; charset=utf-8", bytes("bad request\n"), true);
            return;
        }
        boolean head = parts[0].equals("HEAD");
        if (!head && !parts[0].equals("GET")) {
            respond(out, 405, "text/plain; charset=utf-8", bytes("only GET\n"), true);
            return;
        }
        String target = parts[1];
        int query = target.indexOf('?');
        String path = query < 0 ? target : target.substring(0, query);
        switch (path) {
            case "/metrics", "/" -> {
                ByteArrayOutputStream body = new ByteArrayOutputStream(8192);
                format.write(body, registry.scrape());
                respond(out, 200, PrometheusTextFormatWriter.CONTENT_TYPE, body.toByteArray(), !head);
            }
            case "/-/healthy" -> respond(out, 200, "text/plain; charset=utf-8", bytes(HEALTHY), !head);
            default -> respond(out, 404, "text/plain; charset=utf-8", bytes("not found: try /metrics\n"), !head);
        }
    }

    private static void respond(OutputStream out, int status, String contentType, byte[] body, boolean withBody) throws IOException {
        String reason = switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            default -> "Request Header Fields Too Large";
        };
        String head = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: " + contentType + "\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        if (withBody) {
            out.write(body);
        }
        out.flush();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
