package dev.conntrack.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.testing.Chart;
import dev.conntrack.testing.K3sTestCluster;
import dev.conntrack.testing.KstatusReader;
import dev.conntrack.testing.KstatusReader.Status;
import dev.conntrack.testing.TestApiServer;
import dev.conntrack.testing.UninstallScript;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The install-and-operate path on k3s (real kubelet): the image from the Dockerfile, helm install
 * with the chart's CRDs into a namespace labelled for Pod Security, the operator pod running under
 * its restricted security context, agent pods on every node running under the admission policy
 * with real kubelet-mounted tokens, the example audit policy Current through the real agents and
 * the example baseline held by it, and hack/uninstall.sh. The same Chart, KstatusReader and
 * UninstallScript code runs against kube-api-test in the *ApiServerTest tier.
 *
 * <p>Needs Docker, so it runs when {@code conntrack.k3s=true}: {@code hack/test.sh} (the full run,
 * CI) and {@code hack/test.sh k3s} set it and build both images here; {@code ./mvnw verify -Pk3s}
 * on a workstation pulls k3s (docs/k3s.md).
 */
@EnabledIfSystemProperty(named = "conntrack.k3s", matches = "true")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChartK3sE2ETest {
    private static final Duration WAIT = Duration.ofMinutes(5);
    private static final String NS = "conntrack-system";
    private static final String RELEASE = "conntrack-operator";

    private static K3sTestCluster cluster;
    private static KubernetesClient client;
    private static Path kubeconfig;

    @BeforeAll
    static void install() throws Exception {
        cluster = K3sTestCluster.start();
        client = cluster.newClient();
        kubeconfig = cluster.kubeConfigFile(Files.createTempDirectory("k3s"));
        String image = cluster.buildAndLoadProjectImage("conntrack-operator-e2e:test");
        String repository = image.substring(0, image.lastIndexOf(':'));
        String tag = image.substring(image.lastIndexOf(':') + 1);
        // The documented path: the namespace labelled for the privileged agents before the install.
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS)
                .addToLabels("pod-security.kubernetes.io/enforce", "privileged").endMetadata().build()).serverSideApply();
        Chart.installWithCrds(kubeconfig, RELEASE, NS, "--set", "image.repository=" + repository, "--set", "image.tag=" + tag,
                "--set", "image.pullPolicy=Never");
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void operatorAndOneAgentPerNodeRun() {
        await().atMost(WAIT).untilAsserted(() -> {
            Deployment operator = client.apps().deployments().inNamespace(NS).withName(RELEASE).get();
            assertThat(operator.getStatus().getReadyReplicas()).isEqualTo(1);
        });
        int nodes = client.nodes().list().getItems().size();
        await().atMost(WAIT).untilAsserted(() -> {
            DaemonSet agents = client.apps().daemonSets().inNamespace(NS).withName(AgentDaemonSetFactory.NAME).get();
            assertThat(agents).isNotNull();
            assertThat(agents.getStatus().getNumberReady()).isEqualTo(nodes);
        });
        // Each agent reports its own node (the admission policy lets it) and only that node.
        await().atMost(WAIT).untilAsserted(() -> client.nodes().list().getItems().forEach(node -> {
            ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(node.getMetadata().getName()).get();
            assertThat(state.getStatus()).isNotNull();
            assertThat(state.getStatus().getHeartbeatTime()).isNotNull();
        }));
    }

    @Test
    @Order(2)
    void examplePoliciesAreTakenInByTheRealAgents() throws Exception {
        // Observe-only first (a k3s node is a container: its kernel is the host's), then the baseline.
        for (String example : new String[] {"observe-only-audit.yaml", "policy.yaml"}) {
            try (InputStream in = Files.newInputStream(TestApiServer.projectDir().resolve("examples/" + example))) {
                for (HasMetadata item : client.load(in).items()) {
                    client.resource(item).create();
                }
            }
        }
        int nodes = client.nodes().list().getItems().size();
        // The audit is Current once every node's agent reports it applied (observe-only); the
        // baseline is held by it on every node, which its status says (Stalled, HeldByObserveOnly:
        // the README's GitOps health checks read that as suspended, not failed).
        await().atMost(WAIT).untilAsserted(() -> {
            Map<String, Object> audit = policy("observe-only-audit");
            assertThat(KstatusReader.read(audit).status()).as(String.valueOf(audit.get("status"))).isEqualTo(Status.Current);
            assertThat(nodeCounts(audit)).containsEntry("applied", nodes);
            Map<String, Object> baseline = policy("baseline");
            assertThat(nodeCounts(baseline)).as(String.valueOf(baseline.get("status"))).containsEntry("heldByObserveOnly", nodes);
            assertThat(condition(baseline, "Stalled")).containsEntry("status", "True").containsEntry("reason", "HeldByObserveOnly");
        });
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> policy(String name) {
        GenericKubernetesResource policy = client.genericKubernetesResources("conntrack.dev/v1alpha1", "ConntrackPolicy").withName(name).get();
        return client.getKubernetesSerialization().convertValue(policy, Map.class);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> nodeCounts(Map<String, Object> policy) {
        Map<String, Object> status = (Map<String, Object>) policy.getOrDefault("status", Map.of());
        return (Map<String, Object>) status.getOrDefault("nodes", Map.of());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> condition(Map<String, Object> policy, String type) {
        Map<String, Object> status = (Map<String, Object>) policy.getOrDefault("status", Map.of());
        return ((java.util.List<Map<String, Object>>) status.getOrDefault("conditions", java.util.List.of())).stream()
                .filter(c -> type.equals(c.get("type"))).findFirst().orElse(Map.of());
    }

    @Test
    @Order(3)
    void uninstallScriptRemovesPoliciesThenTheRelease() throws Exception {
        try (UninstallScript script = UninstallScript.start(kubeconfig, "-n", NS, "-r", RELEASE, "-t", "300")) {
            assertThat(script.exitCode(400)).as(script.output()).isZero();
        }
        assertThat(client.apps().deployments().inNamespace(NS).withName(RELEASE).get()).isNull();
    }
}
