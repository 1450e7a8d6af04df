package dev.conntrack.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.testing.Chart;
import dev.conntrack.testing.RealNode;
import dev.conntrack.testing.Sysctls;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Faults on the real node: the agent pod deleted (the DaemonSet brings a new one; the originals
 * survive; nothing is restored on the way out), the kubelet restarted (the agent's container keeps
 * running), an agent image that does not exist (the policies say so), and an agent whose /proc/sys
 * is read-only, as in a container "node" where kube-proxy crash-loops (it reports Degraded and keeps
 * running).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentFaultsNodeTest {
    private static final String TIME_WAIT = "nf_conntrack_tcp_timeout_time_wait";
    private static NodeFixture f;

    @BeforeAll
    static void installWithThePolicyApplied() {
        f = NodeFixture.installed();
        f.applyExamplePolicyAndAwaitIt();
    }

    private static void upgrade(String set) {
        TestApiServer.helm("upgrade", RealNode.RELEASE, Chart.dir().toString(), "--namespace", RealNode.NAMESPACE, "--kubeconfig",
                f.node.kubeconfig().toString(), "--reuse-values", "--set", set, "--wait", "--timeout", "3m");
    }

    @AfterAll
    static void tearDown() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    @Order(1)
    void aDeletedAgentPodIsReplacedAndNothingIsRestoredOnTheWayOut() {
        Pod old = f.agentPod();
        Map<String, String> originals = f.state().getStatus().getOriginals();
        assertThat(originals).containsKey("tcpTimeWait");
        f.client.resource(old).delete();
        await().atMost(NodeFixture.WAIT).until(() -> f.client.pods().inNamespace(RealNode.NAMESPACE)
                .withName(old.getMetadata().getName()).get() == null);
        // The old agent is gone and the kernel still holds the policy's value.
        assertThat(Sysctls.read(TIME_WAIT)).isEqualTo("30");
        f.awaitAgentReady();
        Pod replacement = f.agentPod();
        assertThat(replacement.getMetadata().getUid()).isNotEqualTo(old.getMetadata().getUid());
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
            ConntrackNodeState state = f.state();
            assertThat(state.getStatus().getOriginals()).isEqualTo(originals);
            assertThat(f.condition("Applied").getStatus()).isEqualTo("True");
        });
        assertThat(Sysctls.read(TIME_WAIT)).isEqualTo("30");
    }

    @Test
    @Order(2)
    void aKubeletRestartLeavesTheAgentContainerRunning() {
        Pod before = f.agentPod();
        ContainerStatus container = before.getStatus().getContainerStatuses().get(0);
        String heartbeat = f.state().getStatus().getHeartbeatTime();
        f.node.restart("kubelet");
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
            Pod after = f.agentPod();
            ContainerStatus now = after.getStatus().getContainerStatuses().get(0);
            assertThat(now.getContainerID()).isEqualTo(container.getContainerID());
            assertThat(now.getRestartCount()).isEqualTo(container.getRestartCount());
            assertThat(now.getReady()).isTrue();
            assertThat(f.client.nodes().withName(f.nodeName).get().getStatus().getConditions())
                    .anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus()).isEqualTo("Ready=True"));
        });
        // The agent kept reporting through the restart (heartbeats at least every 60 s).
        await().atMost(NodeFixture.WAIT).until(() -> !heartbeat.equals(f.state().getStatus().getHeartbeatTime()));
    }

    @Test
    @Order(3)
    void anAgentImageThatDoesNotExistShowsInThePolicyStatus() {
        upgrade("agent.image=" + RealNode.IMAGE_REPOSITORY + ":does-not-exist");
        try {
            await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
                ConntrackPolicy baseline = f.client.resources(ConntrackPolicy.class).withName("baseline").get();
                Condition agents = Conditions.find(baseline.getStatus().getConditions(), "AgentPodsReady");
                assertThat(agents).isNotNull();
                assertThat(agents.getStatus()).isEqualTo("False");
                assertThat(agents.getReason()).isEqualTo("AgentPodsNotReady");
                assertThat(agents.getMessage()).startsWith("0 of 1 agent pods of DaemonSet " + RealNode.NAMESPACE + "/conntrack-agent are ready");
            });
        } finally {
            upgrade("agent.image=");
        }
        f.awaitAgentReady();
        await().atMost(NodeFixture.WAIT).untilAsserted(() -> assertThat(Conditions.find(
                f.client.resources(ConntrackPolicy.class).withName("baseline").get().getStatus().getConditions(), "AgentPodsReady")).isNull());
    }

    @Test
    @Order(4)
    void anAgentWhoseProcSysIsReadOnlyReportsDegradedAndKeepsRunning() {
        // The same image and command as the DaemonSet's, but not privileged: the runtime mounts
        // /proc/sys read-only. It reports for a Node object of its own (no kubelet behind it), under
        // a ServiceAccount bound to the agent's ClusterRole: the admission policy judges only the
        // chart's agent ServiceAccount, whose tokens name the real node.
        String other = "ro-proc-" + UUID.randomUUID().toString().substring(0, 6);
        f.client.nodes().resource(new NodeBuilder().withNewMetadata().withName(other).addToLabels("ro-proc", other).endMetadata().build())
                .create();
        try {
            f.client.serviceAccounts().inNamespace(RealNode.NAMESPACE).resource(new ServiceAccountBuilder().withNewMetadata()
                    .withName("ro-proc-agent").endMetadata().build()).serverSideApply();
            f.client.rbac().clusterRoleBindings().resource(new ClusterRoleBindingBuilder().withNewMetadata().withName("ro-proc-agent")
                    .endMetadata().withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", RealNode.RELEASE + "-agent")
                    .addNewSubject().withKind("ServiceAccount").withName("ro-proc-agent").withNamespace(RealNode.NAMESPACE).endSubject()
                    .build()).serverSideApply();
            // Above the example baseline (which selects every node and sets 30s): a value to write.
            f.apply("""
                    apiVersion: conntrack.dev/v1alpha1
                    kind: ConntrackPolicy
                    metadata: {name: ro-proc}
                    spec:
                      nodeSelector: {matchLabels: {ro-proc: %s}}
                      priority: 10
                      conntrack: {tcpTimeWait: 45s}
                      monitoring: {pollInterval: 1s}
                    """.formatted(other));
            Pod pod = f.client.pods().inNamespace(RealNode.NAMESPACE).resource(new PodBuilder().withNewMetadata().withName(other)
                    .endMetadata().withNewSpec().withNodeName(f.nodeName).withHostNetwork(true).withServiceAccountName("ro-proc-agent")
                    .addNewContainer().withName("agent").withImage(RealNode.IMAGE_REPOSITORY + ":" + RealNode.IMAGE_TAG)
                    .withImagePullPolicy("Never").withCommand("java", "-cp", "/deployments/app/*", "dev.conntrack.agent.AgentLauncher")
                    .withNewSecurityContext().withRunAsUser(0L).withRunAsNonRoot(false).endSecurityContext()
                    .addNewEnv().withName("CONNTRACK_ROLE").withValue("agent").endEnv()
                    .addNewEnv().withName("NODE_NAME").withValue(other).endEnv()
                    .addNewEnv().withName("CONNTRACK_METRICS_PORT").withValue("0").endEnv()
                    .addNewEnv().withName("CONNTRACK_STATE_DIR").withValue("/tmp").endEnv()
                    .addNewEnv().withName("JDK_JAVA_OPTIONS").withValue(AgentDaemonSetFactory.DEFAULT_JAVA_OPTS).endEnv()
                    .endContainer().endSpec().build()).create();
            await().atMost(NodeFixture.WAIT).untilAsserted(() -> {
                ConntrackNodeState state = f.client.resources(ConntrackNodeState.class).withName(other).get();
                assertThat(state.getStatus()).isNotNull();
                Condition degraded = Conditions.find(state.getStatus().getConditions(), "Degraded");
                assertThat(degraded.getStatus()).isEqualTo("True");
                assertThat(degraded.getReason()).isEqualTo("WriteRefused");
                assertThat(degraded.getMessage()).contains("Read-only file system");
            });
            // Still running, never restarted, and the host kept its value.
            String heartbeat = f.client.resources(ConntrackNodeState.class).withName(other).get().getStatus().getHeartbeatTime();
            await().atMost(NodeFixture.WAIT).until(() -> !heartbeat.equals(
                    f.client.resources(ConntrackNodeState.class).withName(other).get().getStatus().getHeartbeatTime()));
            ContainerStatus container = f.client.resource(pod).get().getStatus().getContainerStatuses().get(0);
            assertThat(container.getState().getRunning()).isNotNull();
            assertThat(container.getRestartCount()).isZero();
            assertThat(Sysctls.read(TIME_WAIT)).isEqualTo("30");
        } finally {
            f.client.pods().inNamespace(RealNode.NAMESPACE).withName(other).delete();
            f.client.resources(ConntrackPolicy.class).withName("ro-proc").delete();
            f.client.rbac().clusterRoleBindings().withName("ro-proc-agent").delete();
            f.client.nodes().withName(other).delete();
        }
    }
}
