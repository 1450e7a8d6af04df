package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The agent's metrics and probe endpoints over real sockets: what Prometheus and the kubelet use. */
class AgentEndpointsTest {
    private final AtomicBoolean watchRunning = new AtomicBoolean(true);
    private final AgentHealth health = new AgentHealth(watchRunning::get);

    static String exchange(int port, String request) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String get(int port, String path) throws IOException {
        return exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    }

    private AgentEndpoints endpoints() throws IOException {
        AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry());
        metrics.update(new AgentMetrics.Sample(900L, 1000L, 256L, 300_000L, 7L, 1L, 2L, 3L, 4));
        metrics.settings(Map.of("tcpTimeWait", "30"));
        metrics.pollTook(2_000_000);
        return AgentEndpoints.start(freePort(), freePort(), metrics.registry(), health);
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void servesTheMetricsInTheTextFormat() throws IOException {
        try (AgentEndpoints server = endpoints()) {
            String answer = get(server.metricsPort(), "/metrics");
            assertThat(answer).startsWith("HTTP/1.1 200 OK\r\n").containsIgnoringCase("Content-Type: text/plain; version=0.0.4");
            assertThat(answer).contains("conntrack_table_entries 900.0").contains("conntrack_table_limit 1000.0")
                    .contains("conntrack_table_usage_ratio 0.9").contains("conntrack_drop_total 7.0")
                    .contains("conntrack_setting_value{setting=\"tcpTimeWait\"} 30.0")
                    .contains("conntrack_agent_poll_duration_seconds_count 1")
                    .contains("conntrack_agent_poll_duration_seconds_sum 0.002");
            // The root path answers the same, as the Prometheus exporter's did; a query is ignored.
            assertThat(get(server.metricsPort(), "/?x=y")).contains("conntrack_table_limit 1000.0");
            // The exporter's own health path: the HTTP server answers.
            assertThat(get(server.metricsPort(), "/-/healthy")).startsWith("HTTP/1.1 200 OK\r\n");
        }
    }

    @Test
    void aProbePortInUseCostsTheProbesOnlyNotTheMetrics() throws IOException {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             AgentEndpoints server = AgentEndpoints.start(freePort(), taken.getLocalPort(),
                     new AgentMetrics(new PrometheusRegistry()).registry(), health)) {
            assertThat(server.probePort()).isZero();
            assertThat(get(server.metricsPort(), "/metrics")).startsWith("HTTP/1.1 200 ");
        }
    }

    @Test
    void readyOnlyOnceTheSpecIsKnownAndAPollCompleted() throws IOException {
        try (AgentEndpoints server = endpoints()) {
            assertThat(get(server.probePort(), "/-/ready")).startsWith("HTTP/1.1 503 ").contains("no poll completed yet");
            health.polled(true, false, Duration.ofSeconds(1), System.nanoTime());
            assertThat(get(server.probePort(), "/-/ready")).startsWith("HTTP/1.1 503 ").contains("spec not known yet");
            health.polled(true, true, Duration.ofSeconds(1), System.nanoTime());
            assertThat(get(server.probePort(), "/-/ready")).startsWith("HTTP/1.1 200 ");
            assertThat(get(server.metricsPort(), "/-/ready")).as("also on the metrics port").startsWith("HTTP/1.1 200 ");
            health.polled(false, true, Duration.ofSeconds(1), System.nanoTime());
            assertThat(get(server.probePort(), "/-/ready")).startsWith("HTTP/1.1 503 ").contains("the newest failed");
            assertThat(get(server.probePort(), "/metrics")).as("the probe port serves only probes").startsWith("HTTP/1.1 404 ");
        }
    }

    @Test
    void liveOnlyWhileThePollCompletesAndTheSpecWatchRuns() throws IOException {
        try (AgentEndpoints server = endpoints()) {
            long now = System.nanoTime();
            health.polled(true, true, Duration.ofSeconds(1), now);
            assertThat(get(server.probePort(), "/-/live")).startsWith("HTTP/1.1 200 ");
            assertThat(health.live(now + Duration.ofSeconds(30).toNanos())).isTrue();
            assertThat(health.live(now + Duration.ofSeconds(32).toNanos())).as("no poll for interval + 30 s").isFalse();
            watchRunning.set(false);
            assertThat(get(server.probePort(), "/-/live")).startsWith("HTTP/1.1 503 ").contains("spec watch stopped");
        }
    }

    @Test
    void slowClientsOfTheMetricsPortNeitherStarveTheProbesNorHoldTheEndpoint() throws Exception {
        health.polled(true, true, Duration.ofSeconds(1), System.nanoTime());
        try (AgentEndpoints server = endpoints()) {
            // Clients that send a byte now and then, more of them than the metrics port has threads.
            List<Socket> slow = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    Socket s = new Socket(InetAddress.getLoopbackAddress(), server.metricsPort());
                    s.getOutputStream().write("GET /met".getBytes(StandardCharsets.US_ASCII));
                    slow.add(s);
                }
                for (int i = 0; i < 6; i++) {
                    long started = System.nanoTime();
                    assertThat(get(server.probePort(), i % 2 == 0 ? "/-/live" : "/-/ready")).startsWith("HTTP/1.1 200 ");
                    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
                    for (Socket s : slow) {
                        try {
                            s.getOutputStream().write('r');
                        } catch (IOException e) {
                            // cut off at the request deadline: what should happen
                        }
                    }
                    Thread.sleep(1000);
                }
                // Past the request deadline the slow clients are cut off, and the metrics port answers again.
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                String answer = "";
                while (System.nanoTime() < deadline && !answer.startsWith("HTTP/1.1 200")) {
                    try {
                        answer = get(server.metricsPort(), "/metrics");
                    } catch (IOException e) {
                        answer = "";
                    }
                }
                assertThat(answer).startsWith("HTTP/1.1 200 ");
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
        }
    }
}
