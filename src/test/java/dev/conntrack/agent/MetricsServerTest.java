package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The agent's metrics endpoint over a real socket: the paths Prometheus and the liveness probe use. */
class MetricsServerTest {
    private static String exchange(int port, String request) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static MetricsServer server() throws IOException {
        AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry());
        metrics.update(new AgentMetrics.Sample(900L, 1000L, 256L, 300_000L, 7L, 1L, 2L, 3L, 4));
        metrics.settings(Map.of("tcpTimeWait", "30"));
        metrics.pollTook(2_000_000);
        return MetricsServer.start(0, metrics.registry());
    }

    @Test
    void servesTheMetricsInTheTextFormat() throws IOException {
        try (MetricsServer server = server()) {
            String answer = exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
            assertThat(answer).startsWith("HTTP/1.1 200 OK\r\n").contains("Content-Type: text/plain; version=0.0.4")
                    .contains("Connection: close");
            assertThat(answer).contains("conntrack_table_entries 900.0").contains("conntrack_table_limit 1000.0")
                    .contains("conntrack_table_usage_ratio 0.9").contains("conntrack_drop_total 7.0")
                    .contains("conntrack_setting_value{setting=\"tcpTimeWait\"} 30.0")
                    .contains("conntrack_agent_poll_duration_seconds_count 1")
                    .contains("conntrack_agent_poll_duration_seconds_sum 0.002");
            String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            int length = Integer.parseInt(answer.replaceAll("(?s).*Content-Length: (\\d+).*", "$1"));
            assertThat(body.getBytes(StandardCharsets.UTF_8)).hasSize(length);
            // The root path answers the same, as the Prometheus exporter's did; a query is ignored.
            assertThat(exchange(server.port(), "GET /?name[]=x HTTP/1.1\r\n\r\n")).contains("conntrack_table_limit 1000.0");
        }
    }

    @Test
    void answersTheLivenessProbe() throws IOException {
        try (MetricsServer server = server()) {
            String answer = exchange(server.port(), "GET /-/healthy HTTP/1.1\r\nHost: x\r\nUser-Agent: kube-probe/1.31\r\n\r\n");
            assertThat(answer).startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\n" + MetricsServer.HEALTHY);
            assertThat(exchange(server.port(), "HEAD /-/healthy HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 200 OK\r\n")
                    .endsWith("\r\n\r\n");
        }
    }

    @Test
    void refusesWhatItDoesNotServe() throws IOException {
        try (MetricsServer server = server()) {
            assertThat(exchange(server.port(), "GET /other HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 404 ");
            assertThat(exchange(server.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")).startsWith("HTTP/1.1 405 ");
            assertThat(exchange(server.port(), "garbage\r\n\r\n")).startsWith("HTTP/1.1 400 ");
            StringBuilder many = new StringBuilder("GET /metrics HTTP/1.1\r\n");
            for (int i = 0; i <= MetricsServer.MAX_HEADERS; i++) {
                many.append("X-H").append(i).append(": v\r\n");
            }
            assertThat(exchange(server.port(), many.append("\r\n").toString())).startsWith("HTTP/1.1 431 ");
        }
    }

    @Test
    void aClientThatHangsUpOrSendsNothingDoesNotEndTheEndpoint() throws IOException {
        try (MetricsServer server = server()) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                s.getOutputStream().write("GET /met".getBytes(StandardCharsets.US_ASCII));
            }
            assertThat(exchange(server.port(), "GET /-/healthy HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 200 OK");
        }
    }
}
