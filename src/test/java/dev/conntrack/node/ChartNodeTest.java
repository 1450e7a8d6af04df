package dev.conntrack.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.testing.AgentKubeClients;
import dev.conntrack.testing.RealNode;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The chart for real, on a real kubelet: helm install with the image built from the Dockerfile, the
 * operator pod and the agent pod it creates running (probes passing, by the kubelet's own probe
 * counters), the example policy applied to this machine's kernel through the agent pod, the
 * admission policy judging the pod's real node-bound token, Events, metrics from the pod's port,
 * and hack/uninstall.sh putting the kernel's original values back through the real agent.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChartNodeTest {
    private static final String TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    private static NodeFixture f;
    private static Map<String, String> before;

    @BeforeAll
    static void install() {
        f = NodeFixture.installed();
        before = Map.of("nf_conntrack_max", f.sysctls.original("nf_conntrack_max"),
                "nf_conntrack_tcp_timeout_time_wait", f.sysctls.original("nf_conntrack_tcp_timeout_time_wait"));
    }

    @AfterAll
    static void cleanUp() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    @Order(1)
    void operatorAndAgentRunAsPodsFromTheImageWithTheirProbesPassing() {
        Deployment operator = f.client.apps().deployments().inNamespace(RealNode.NAMESPACE).withName(RealNode.RELEASE).get();
        assertThat(operator.getStatus().getReadyReplicas()).isEqualTo(1);
        Pod agent = f.agentPod();
        assertThat(agent.getSpec().getHostNetwork()).isTrue();
        assertThat(agent.getSpec().getHostPID()).isTrue();
        assertThat(agent.getSpec().getContainers().get(0).getImage()).isEqualTo(RealNode.IMAGE_REPOSITORY + ":" + RealNode.IMAGE_TAG);
        ContainerStatus container = agent.getStatus().getContainerStatuses().get(0);
        assertThat(container.getReady()).isTrue();
        assertThat(container.getRestartCount()).isZero();
        // The kubelet counts every probe it runs: the agent's liveness probe (initial delay 10 s,
        // period 20 s) and the operator's readiness probe have passed on this node, none failed.
        String podName = agent.getMetadata().getName();
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
            String probes = f.client.raw("/api/v1/nodes/" + f.nodeName + "/proxy/metrics/probes");
            assertThat(probeCount(probes, podName, "Liveness", "successful")).isPositive();
            assertThat(probeCount(probes, podName, "Liveness", "failed")).isZero();
            assertThat(probeCount(probes, RealNode.RELEASE + "-", "Readiness", "successful")).isPositive();
            // The agent's readiness probe (the spec known, a poll done) gates the DaemonSet's rollout.
            assertThat(probeCount(probes, podName, "Readiness", "successful")).isPositive();
            // The operator's startup probe holds its readiness probe back until it answers: none failed.
            assertThat(probeCount(probes, RealNode.RELEASE + "-", "Startup", "successful")).isPositive();
            assertThat(probeCount(probes, RealNode.RELEASE + "-", "Readiness", "failed")).isZero();
        });
    }

    @Test
    @Order(1)
    void theImageKeepsNoPackageCaches() throws Exception {
        // Package lists, downloaded .debs and apt's caches are not part of the image (they were 76 MB).
        assertThat(exec(f.agentPod(), "find", "/var/lib/apt/lists", "/var/cache/apt", "-type", "f")).isEmpty();
    }

    @Test
    @Order(2)
    void theExamplePolicyReachesThisKernelThroughTheAgentPod() {
        f.applyExamplePolicyAndAwaitIt();
        ConntrackNodeState state = f.state();
        // The kernel holds what the agent says is in effect, and the originals are what it found.
        assertThat(dev.conntrack.testing.Sysctls.read("nf_conntrack_tcp_timeout_time_wait")).isEqualTo("30");
        assertThat(dev.conntrack.testing.Sysctls.read("nf_conntrack_max")).isEqualTo(state.getStatus().getCurrent().get("max"));
        assertThat(state.getStatus().getOriginals()).containsEntry("tcpTimeWait", before.get("nf_conntrack_tcp_timeout_time_wait"));
        assertThat(state.getStatus().getAgentVersion()).isNotBlank();
    }

    @Test
    @Order(3)
    void theAdmissionPolicyJudgesThePodsRealNodeBoundToken() throws Exception {
        String token = exec(f.agentPod(), "cat", TOKEN);
        String other = "node-test-other-" + UUID.randomUUID().toString().substring(0, 6);
        // A second Node object (no kubelet behind it): the operator gives it a node state.
        f.client.nodes().resource(new NodeBuilder().withNewMetadata().withName(other).endMetadata().build()).create();
        // Written as the agent writes it: its own client, one PATCH of the status (its role has no get).
        try (KubernetesClient withToken = clientWithToken(token);
                KubeClient asAgent = AgentKubeClients.like(withToken, Duration.ofSeconds(3), Duration.ofSeconds(10))) {
            await().atMost(NodeFixture.WAIT).until(() -> f.client.resources(ConntrackNodeState.class).withName(other).get() != null);
            String heartbeat = f.state().getStatus().getHeartbeatTime();
            patchHeartbeat(asAgent, f.nodeName, heartbeat);
            assertThatThrownBy(() -> patchHeartbeat(asAgent, other, heartbeat))
                    .isInstanceOfSatisfying(KubeApiException.class, e -> {
                        assertThat(e.code()).isEqualTo(403);
                        assertThat(e.getMessage()).contains("agent of node " + f.nodeName + " may only write ConntrackNodeState "
                                + f.nodeName + ", not " + other);
                    });
        } finally {
            f.client.nodes().withName(other).delete();
        }
    }

    @Test
    @Order(4)
    void eventsAndMetricsComeFromTheAgentPod() throws Exception {
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> assertThat(f.client.v1().events().inNamespace("default")
                .withField("involvedObject.name", f.nodeName).list().getItems()).extracting(Event::getReason)
                .contains("ConntrackApplied"));
        String metrics = f.agentMetrics();
        assertThat(metrics).contains("conntrack_setting_value{setting=\"tcpTimeWait\"} 30.0");
        assertThat(metrics).containsPattern("(?m)^conntrack_table_entries(\\{[^}]*})? [0-9.]+");
    }

    @Test
    @Order(5)
    void uninstallPutsTheOriginalValuesBackThroughTheRealAgent() throws Exception {
        f.uninstall();
        assertThat(dev.conntrack.testing.Sysctls.read("nf_conntrack_tcp_timeout_time_wait"))
                .isEqualTo(before.get("nf_conntrack_tcp_timeout_time_wait"));
        assertThat(dev.conntrack.testing.Sysctls.read("nf_conntrack_max")).isEqualTo(before.get("nf_conntrack_max"));
        assertThat(f.client.apps().daemonSets().inNamespace(RealNode.NAMESPACE).withName(AgentDaemonSetFactory.NAME).get()).isNull();
        assertThat(f.client.apps().deployments().inNamespace(RealNode.NAMESPACE).withName(RealNode.RELEASE).get()).isNull();
    }

    /** Sum of the kubelet's prober_probe_total for pods whose name starts with podPrefix. */
    static long probeCount(String metrics, String podPrefix, String type, String result) {
        Matcher m = Pattern.compile("(?m)^prober_probe_total\\{([^}]*)} ([0-9.e+]+)$").matcher(metrics);
        long sum = 0;
        while (m.find()) {
            String labels = m.group(1);
            if (labels.contains("pod=\"" + podPrefix) && labels.contains("probe_type=\"" + type + "\"")
                    && labels.contains("result=\"" + result + "\"")) {
                sum += (long) Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }

    static String exec(Pod pod, String... command) throws Exception {
        try (ExecWatch watch = f.client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                .redirectingOutput().exec(command)) {
            byte[] out = watch.getOutput().readAllBytes();
            assertThat(watch.exitCode().get(30, TimeUnit.SECONDS)).isZero();
            return new String(out, StandardCharsets.UTF_8).trim();
        }
    }

    private static KubernetesClient clientWithToken(String token) {
        Config admin = f.client.getConfiguration();
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl(admin.getMasterUrl())
                .withCaCertData(admin.getCaCertData()).withOauthToken(token).build()).build();
    }

    private static void patchHeartbeat(KubeClient client, String node, String heartbeat) throws KubeApiException {
        client.patch("/apis/conntrack.dev/v1alpha1/conntracknodestates/" + node + "/status", KubeClient.MERGE_PATCH,
                "{\"status\":{\"heartbeatTime\":\"" + heartbeat + "\"}}");
    }
}
