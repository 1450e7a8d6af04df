package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.testing.CuttableTcpProxy;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.Sysctls;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * End to end on this machine: the real kernel, the real kube-apiserver, the operator and an agent
 * for this machine as processes from the built artifact. Only per-namespace TCP/UDP timeouts are
 * changed (never nf_conntrack_max), and every value is restored afterwards, also on failure.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentE2ETest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "e2e-" + RUN;
    private static final String POLICY = "e2e-" + RUN;
    private static final String TIME_WAIT = "nf_conntrack_tcp_timeout_time_wait";
    private static final String UDP = "nf_conntrack_udp_timeout";

    private static final Sysctls HOST = new Sysctls();
    private static KubernetesClient client;
    private static CuttableTcpProxy proxy;
    private static RoleProcess operator;
    private static RoleProcess agent;
    private static int metricsPort;
    private static long timeWait;
    private static long udp;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Sysctls.available(), "needs root and nf_conntrack (CI runs as root on a real kernel)");
        HOST.save(TIME_WAIT, UDP);
        timeWait = Long.parseLong(HOST.original(TIME_WAIT)) + 7;
        udp = Long.parseLong(HOST.original(UDP)) + 3;
        client = TestApiServer.newClient();
        TestApiServer.registerNode(client, NODE, Map.of("run", RUN), "2");

        Path dir = Files.createTempDirectory("agent-e2e");
        String kubeconfig = TestApiServer.kubeConfigYaml();
        proxy = new CuttableTcpProxy(apiServerAddress(kubeconfig));
        Path proxied = dir.resolve("kubeconfig-proxied");
        Files.writeString(proxied, kubeconfig.replaceFirst("server: *https://[^\\s]+", "server: https://127.0.0.1:" + proxy.port()));

        operator = RoleProcess.operator(TestApiServer.kubeConfigFile(dir), "operator-e2e");
        metricsPort = freePort();
        // The agent talks through the proxy (so the test can cut it) as the chart's agent service account.
        agent = RoleProcess.agent(proxied, "agent-e2e", NODE, dir.resolve("state"), Map.of(
                "CONNTRACK_METRICS_PORT", Integer.toString(metricsPort),
                "CONNTRACK_HEARTBEAT_SECONDS", "5"), "-Xmx64m", "-XX:+UseSerialGC");
    }

    @AfterAll
    static void stop() {
        try {
            if (agent != null) {
                agent.close();
            }
            if (operator != null) {
                operator.close();
            }
            if (proxy != null) {
                proxy.close();
            }
            if (client != null) {
                client.resources(ConntrackPolicy.class).withName(POLICY).delete();
                client.nodes().withName(NODE).delete();
                client.close();
            }
        } finally {
            HOST.restore();
        }
    }

    @Test
    @Order(1)
    void agentAppliesThePolicyAndReportsIt() throws Exception {
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(POLICY);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        ConntrackSettings settings = new ConntrackSettings();
        settings.setTcpTimeWait(timeWait + "s");
        settings.setUdp(udp + "s");
        policy.getSpec().setConntrack(settings);
        client.resource(policy).create();

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(Sysctls.read(TIME_WAIT)).as(agent.logTail(30)).isEqualTo(Long.toString(timeWait));
            assertThat(Sysctls.read(UDP)).isEqualTo(Long.toString(udp));
        });
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
            ConntrackNodeStateStatus status = state.getStatus();
            assertThat(status).as(agent.logTail(30)).isNotNull();
            assertThat(status.getObservedGeneration()).isEqualTo(state.getMetadata().getGeneration());
            assertThat(Conditions.isTrue(status.getConditions(), "Applied")).as(status.getConditions().toString()).isTrue();
            assertThat(Conditions.isTrue(status.getConditions(), "Degraded")).isFalse();
            assertThat(status.getOriginals())
                    .containsEntry("tcpTimeWait", HOST.original(TIME_WAIT))
                    .containsEntry("udp", HOST.original(UDP));
            assertThat(status.getCurrent()).containsEntry("tcpTimeWait", Long.toString(timeWait));
            assertThat(status.getUsage().getMax()).isPositive();
            assertThat(status.getHeartbeatTime()).isNotNull();
        });
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(eventReasons()).contains("ConntrackApplied"));
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackPolicy rolled = client.resources(ConntrackPolicy.class).withName(POLICY).get();
            assertThat(Conditions.isTrue(rolled.getStatus().getConditions(), "Ready")).isTrue();
            assertThat(rolled.getStatus().getNodes().getApplied()).isEqualTo(1);
        });
        assertThat(metrics()).contains("conntrack_setting_value{setting=\"tcpTimeWait\"} " + timeWait + ".0")
                .contains("conntrack_table_limit ");
    }

    @Test
    @Order(2)
    void driftIsReportedAndReapplied() {
        Sysctls.write(TIME_WAIT, Long.toString(timeWait + 20));

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(Sysctls.read(TIME_WAIT)).isEqualTo(Long.toString(timeWait)));
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(eventReasons()).contains("ConntrackExternalOverride"));
    }

    @Test
    @Order(3)
    void keepsEnforcingWhileTheApiServerIsUnreachableAndReportsWhenItIsBack() throws Exception {
        String watchFailed = "watch of node state " + NODE + " failed";
        long outagesBefore = agent.logTail(Integer.MAX_VALUE).lines().filter(l -> l.contains(watchFailed)).count();
        proxy.cut();
        try {
            // The agent has seen the API server go (its spec watch failed) before the drift.
            await().atMost(Duration.ofSeconds(5)).until(() ->
                    agent.logTail(Integer.MAX_VALUE).lines().filter(l -> l.contains(watchFailed)).count() > outagesBefore);
            Sysctls.write(TIME_WAIT, Long.toString(timeWait + 30));
            // No API server: the agent still sees the drift and reapplies from its last known spec.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(Sysctls.read(TIME_WAIT)).isEqualTo(Long.toString(timeWait)));
            // It stays up (and keeps enforcing) the whole time the API server is away, not only at the end.
            await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(8)).untilAsserted(() -> {
                assertThat(agent.isAlive()).as(agent.logTail(40)).isTrue();
                assertThat(Sysctls.read(TIME_WAIT)).isEqualTo(Long.toString(timeWait));
            });
        } finally {
            proxy.restore();
        }
        Instant back = Instant.now().minusSeconds(1);
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeStateStatus status = client.resources(ConntrackNodeState.class).withName(NODE).get().getStatus();
            assertThat(Instant.parse(status.getHeartbeatTime())).as(agent.logTail(20)).isAfter(back);
        });
        assertThat(agent.isAlive()).isTrue();
    }

    @Test
    @Order(4)
    void deletingThePolicyRestoresTheOriginalValues() {
        client.resources(ConntrackPolicy.class).withName(POLICY).delete();

        // The outage before left the spec watch retrying at its own time in every 90 s (a fleet's
        // agents come back spread over that period, docs/agent-faults.md): the deletion is seen
        // within that period plus the poll.
        await().atMost(Duration.ofSeconds(90).plus(WAIT)).untilAsserted(() -> {
            assertThat(Sysctls.read(TIME_WAIT)).as(agent.logTail(30)).isEqualTo(HOST.original(TIME_WAIT));
            assertThat(Sysctls.read(UDP)).isEqualTo(HOST.original(UDP));
        });
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeStateStatus status = client.resources(ConntrackNodeState.class).withName(NODE).get().getStatus();
            assertThat(status.getOriginals()).isNullOrEmpty();
            assertThat(eventReasons()).contains("ConntrackRestored");
            assertThat(client.resources(ConntrackPolicy.class).withName(POLICY).get()).isNull();
        });
    }

    private static List<String> eventReasons() {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> NODE.equals(e.getInvolvedObject().getName()))
                .map(Event::getReason)
                .toList();
    }

    private static String metrics() throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static InetSocketAddress apiServerAddress(String kubeconfig) {
        Matcher m = Pattern.compile("server: *https://([^:\\s]+):(\\d+)").matcher(kubeconfig);
        if (!m.find()) {
            throw new IllegalStateException("no server in kubeconfig");
        }
        return new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2)));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
