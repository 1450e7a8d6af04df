package dev.conntrack.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.testing.RealNode;
import dev.conntrack.testing.Sysctls;
import dev.conntrack.testing.TestApiServer;
import dev.conntrack.testing.UninstallScript;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;

/**
 * What the *NodeTest classes share: the real node, an admin client, the chart installed with the
 * image built here, the host's conntrack sysctls saved before and compared after, and small
 * look-ups (the agent pod, node state conditions, the agent's metrics from its pod's port).
 */
final class NodeFixture implements AutoCloseable {
    static final Duration WAIT = Duration.ofMinutes(2);
    /** The conntrack sysctls the example policies and kube-proxy touch. */
    static final String[] SYSCTLS = {"nf_conntrack_max", "nf_conntrack_tcp_timeout_time_wait",
        "nf_conntrack_tcp_timeout_close_wait", "nf_conntrack_tcp_timeout_established"};

    final RealNode node;
    final KubernetesClient client;
    final String nodeName;
    final Sysctls sysctls;

    private NodeFixture(RealNode node) {
        this.node = node;
        this.client = node.newClient();
        this.nodeName = node.nodeName();
        this.sysctls = new Sysctls().save(SYSCTLS);
    }

    /** The node, with the chart installed and its agent pod Ready. */
    static NodeFixture installed(String... helmArgs) {
        NodeFixture f = new NodeFixture(RealNode.get());
        f.node.installChart(helmArgs);
        f.awaitAgentReady();
        return f;
    }

    void awaitAgentReady() {
        await().atMost(WAIT).untilAsserted(() -> {
            DaemonSet agents = client.apps().daemonSets().inNamespace(RealNode.NAMESPACE).withName(AgentDaemonSetFactory.NAME).get();
            assertThat(agents).as("the operator creates the agent DaemonSet").isNotNull();
            assertThat(agents.getStatus().getNumberReady()).isEqualTo(1);
        });
    }

    Pod agentPod() {
        List<Pod> pods = client.pods().inNamespace(RealNode.NAMESPACE)
                .withLabel("app.kubernetes.io/name", AgentDaemonSetFactory.NAME).list().getItems().stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
        assertThat(pods).hasSize(1);
        return pods.get(0);
    }

    ConntrackNodeState state() {
        return client.resources(ConntrackNodeState.class).withName(nodeName).get();
    }

    Condition condition(String type) {
        ConntrackNodeState state = state();
        return state == null || state.getStatus() == null ? null : Conditions.find(state.getStatus().getConditions(), type);
    }

    /** Creates or replaces the objects of a YAML document (policies). */
    void apply(String yaml) {
        for (HasMetadata item : client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items()) {
            client.resource(item).forceConflicts().serverSideApply();
        }
    }

    void applyExample(String name) {
        try (InputStream in = Files.newInputStream(TestApiServer.projectDir().resolve("examples/" + name))) {
            apply(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * examples/policy.yaml in effect on this kernel through the agent pod: its TIME_WAIT in /proc,
     * and the node state's Applied saying so (Applied is True before, too: nothing requested).
     */
    void applyExamplePolicyAndAwaitIt() {
        applyExample("policy.yaml");
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(Sysctls.read("nf_conntrack_tcp_timeout_time_wait")).isEqualTo("30");
            Condition applied = condition("Applied");
            assertThat(applied.getStatus()).as(applied.getMessage()).isEqualTo("True");
            assertThat(applied.getReason()).isEqualTo("SettingsApplied");
            assertThat(applied.getMessage()).contains("tcpTimeWait=30");
        });
    }

    void deletePolicies() {
        client.resources(ConntrackPolicy.class).delete();
    }

    /** The agent's Prometheus text, read from its pod's port (hostNetwork: the node's address). */
    String agentMetrics() throws IOException, InterruptedException {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://" + RealNode.NODE_IP + ":9402/metrics")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    /** hack/uninstall.sh as the README and docs/install.md say; fails the test with its output unless it exits 0. */
    void uninstall() throws InterruptedException {
        try (UninstallScript script = UninstallScript.start(node.kubeconfig(), "-n", RealNode.NAMESPACE, "-r", RealNode.RELEASE,
                "-t", "120")) {
            assertThat(script.exitCode(300)).as(script.output()).isZero();
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.pods().inNamespace(RealNode.NAMESPACE).list().getItems()).isEmpty());
    }

    /** After a failed test: whatever is left of the release goes, and the host gets its values back. */
    @Override
    public void close() {
        try {
            if (client.apps().deployments().inNamespace(RealNode.NAMESPACE).withName(RealNode.RELEASE).get() != null) {
                deletePolicies();
                uninstall();
            }
        } catch (Exception | AssertionError e) {
            System.err.println("clean-up after the node test: " + e);
        } finally {
            sysctls.restore();
            client.close();
        }
    }
}
