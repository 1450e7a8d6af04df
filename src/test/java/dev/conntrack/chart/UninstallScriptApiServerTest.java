package dev.conntrack.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.operator.AgentDaemonSetSettings;
import dev.conntrack.testing.Chart;
import dev.conntrack.testing.KubeApiTestCluster;
import dev.conntrack.testing.UninstallScript;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * hack/uninstall.sh against an API server of its own (it deletes every policy and reads every node
 * state): it does not uninstall while nodes still hold original values, names them, and uninstalls
 * once the agents (simulated by status patches) have restored them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class UninstallScriptApiServerTest {
    private static final String NS = "conntrack-system";
    private static final String RELEASE = "conntrack-operator";

    private static KubeApiTestCluster cluster;
    private static KubernetesClient client;
    private static Path kubeconfig;

    @BeforeAll
    static void install() throws Exception {
        cluster = KubeApiTestCluster.start();
        client = cluster.newClient();
        kubeconfig = cluster.kubeConfigFile(Files.createTempDirectory("uninstall"));
        Chart.install(kubeconfig, RELEASE, NS);
        policy("baseline");
        nodeState("node-a", Map.of("max", "262144"));
        nodeState("node-b", Map.of("tcpTimeWait", "120", "tcpCloseWait", "60"));
        nodeState("node-c", null);
    }

    @AfterAll
    static void stop() {
        client.close();
        cluster.close();
    }

    @Test
    @Order(1)
    void badArgumentsAreRefusedWithAMessage() throws Exception {
        try (UninstallScript script = UninstallScript.start(kubeconfig, "-t", "soon")) {
            assertThat(script.exitCode(30)).isEqualTo(2);
            assertThat(script.output()).contains("timeout must be whole seconds, got 'soon'");
        }
        assertThat(client.resources(ConntrackPolicy.class).withName("baseline").get()).isNotNull();
    }

    @Test
    @Order(2)
    void doesNotUninstallWhileNodesHoldOriginalsAndNamesThem() throws Exception {
        // A policy the operator would still be cleaning up: deletion waits on a finalizer.
        ConntrackPolicy held = policy("held");
        client.resources(ConntrackPolicy.class).withName("held").edit(p -> {
            p.getMetadata().setFinalizers(List.of("conntrack.dev/finalizer"));
            return p;
        });
        try (UninstallScript script = UninstallScript.start(kubeconfig, "-n", NS, "-r", RELEASE, "-t", "3")) {
            assertThat(script.exitCode(60)).as(script.output()).isEqualTo(1);
            assertThat(script.output())
                    .contains("timed out after 3s; NOT uninstalling")
                    .contains("policies still present (the operator removes them once no node spec lists them): held")
                    .contains("  node-a: max=262144")
                    .contains("  node-b: tcpCloseWait=60 tcpTimeWait=120")
                    .doesNotContain("node-c");
        }
        assertThat(client.resources(ConntrackPolicy.class).withName("baseline").get()).as("deleted at once").isNull();
        assertThat(client.apps().deployments().inNamespace(NS).withName(RELEASE).get()).as("still installed").isNotNull();
        client.resources(ConntrackPolicy.class).withName(held.getMetadata().getName()).edit(p -> {
            p.getMetadata().setFinalizers(List.of());
            return p;
        });
    }

    @Test
    @Order(3)
    void uninstallsOnceEveryNodeHasRestored() throws Exception {
        policy("baseline");
        // What the operator creates next to the release, outside of it.
        client.apps().daemonSets().inNamespace(NS).resource(new AgentDaemonSetFactory()
                .create(AgentDaemonSetSettings.builder(NS, "conntrack-operator:0.1.0").build())).create();
        try (UninstallScript script = UninstallScript.start(kubeconfig, "-n", NS, "-r", RELEASE, "-t", "60")) {
            // The policy is gone; the script has seen it and waits for the two agents (node-c holds nothing).
            awaitLine(script, Duration.ofSeconds(30), "[uninstall] waiting for nodes: node-a node-b");
            assertThat(client.resources(ConntrackPolicy.class).withName("baseline").get()).isNull();
            assertThat(script.isRunning()).as("waits for the agents: " + script.output()).isTrue();
            assertThat(client.apps().deployments().inNamespace(NS).withName(RELEASE).get()).isNotNull();

            // The agents restore, one after the other: the script sees the first and waits on.
            restored("node-a");
            awaitLine(script, Duration.ofSeconds(10), "[uninstall] waiting for nodes: node-b");
            assertThat(script.isRunning()).as(script.output()).isTrue();
            assertThat(client.apps().deployments().inNamespace(NS).withName(RELEASE).get()).isNotNull();
            restored("node-b");

            assertThat(script.exitCode(60)).as(script.output()).isZero();
            assertThat(script.output()).contains("every node is back to its original conntrack settings")
                    .contains("helm uninstall " + RELEASE + " -n " + NS);
        }
        assertThat(client.apps().deployments().inNamespace(NS).withName(RELEASE).get()).isNull();
        assertThat(client.serviceAccounts().inNamespace(NS).withName("conntrack-agent").get()).isNull();
        assertThat(client.rbac().clusterRoles().withName("conntrack-operator").get()).isNull();
        assertThat(client.apps().daemonSets().inNamespace(NS).withName(AgentDaemonSetFactory.NAME).get()).isNull();
    }

    /** Waits for a whole line of the script's output; it checks every second here (CONNTRACK_UNINSTALL_POLL_SECONDS=1). */
    private static void awaitLine(UninstallScript script, Duration atMost, String line) {
        await().atMost(atMost).untilAsserted(() -> assertThat(script.output().lines()).contains(line));
    }

    private static ConntrackPolicy policy(String name) {
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(name);
        return client.resource(policy).create();
    }

    private static void nodeState(String node, Map<String, String> originals) {
        ConntrackNodeState state = new ConntrackNodeState();
        state.getMetadata().setName(node);
        state = client.resource(state).create();
        if (originals != null) {
            ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
            status.setOriginals(originals);
            state.setStatus(status);
            client.resource(state).updateStatus();
        }
    }

    /** What an agent does after writing the originals back: its status no longer lists them. */
    private static void restored(String node) {
        client.resources(ConntrackNodeState.class).withName(node).subresource("status")
                .patch(PatchContext.of(PatchType.JSON), "[{\"op\":\"remove\",\"path\":\"/status/originals\"}]");
    }
}
