package dev.conntrack.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.testing.Chart;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * helm install of the chart with every option on into a fresh namespace of the real API server,
 * then the operator started exactly as the installed Deployment says (its environment read back
 * from the cluster, JVM options through JDK_JAVA_OPTIONS) and running as the chart's operator
 * ServiceAccount: the chart's RBAC suffices, and the agent DaemonSet it creates carries the
 * chart's agent settings.
 */
class HelmInstallApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NS = "inst-" + RUN;
    private static final String RELEASE = "ct-" + RUN;
    private static final String DEPLOYMENT = RELEASE + "-conntrack-operator";
    private static final String NODE = "inst-" + RUN;

    private static KubernetesClient client;
    private static Path kubeconfig;
    private static Map<String, String> deploymentEnv;
    private static RoleProcess operator;

    @BeforeAll
    static void installAndStartTheOperator() throws Exception {
        client = TestApiServer.newClient();
        Chart.installMonitoringCrds(client);
        kubeconfig = TestApiServer.kubeConfigFile(Files.createTempDirectory("helm-install"));
        // --create-namespace creates the namespace, so the chart's optional Namespace stays off.
        Chart.install(kubeconfig, RELEASE, NS, "-f", Chart.allOptionsValues().toString(), "--set", "namespace.create=false");

        Deployment deployment = client.apps().deployments().inNamespace(NS).withName(DEPLOYMENT).get();
        assertThat(deployment).as("the chart's operator Deployment").isNotNull();
        deploymentEnv = Chart.env(deployment);
        String serviceAccount = deployment.getSpec().getTemplate().getSpec().getServiceAccountName();

        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE)
                .addToLabels("conntrack.dev/managed", "true").endMetadata().build()).create();

        Map<String, String> env = new HashMap<>(deploymentEnv);
        env.put("KUBECONFIG", kubeconfig.toString());
        // In the cluster the pod's token makes it this ServiceAccount; here impersonation does.
        env.put("KUBERNETES_IMPERSONATE_USERNAME", "system:serviceaccount:" + NS + ":" + serviceAccount);
        env.put("QUARKUS_HTTP_PORT", "0");
        operator = RoleProcess.start(deploymentEnv.get("CONNTRACK_ROLE"), "operator-helm-install", env);
    }

    @AfterAll
    static void uninstall() {
        if (operator != null) {
            operator.close();
        }
        Chart.uninstall(kubeconfig, RELEASE, NS);
        client.apps().daemonSets().inNamespace(NS).withName(AgentDaemonSetFactory.NAME).delete();
        client.namespaces().withName(NS).delete();
        client.resources(ConntrackNodeState.class).withName(NODE).delete();
        client.nodes().withName(NODE).delete();
        client.close();
    }

    @Test
    void operatorRunsWithTheDeploymentsJvmOptions() {
        await().atMost(WAIT).untilAsserted(() -> assertThat(operator.logTail(400))
                .contains("Picked up JDK_JAVA_OPTIONS: -Xmx160m -XX:+UseSerialGC -Dct.chart.test=all-options"));
    }

    @Test
    void operatorCreatesTheAgentDaemonSetWithTheChartsAgentSettings() {
        DaemonSet ds = await().atMost(WAIT).until(() -> {
            assertThat(operator.isAlive()).as("operator exited:\n" + operator.logTail(30)).isTrue();
            return client.apps().daemonSets().inNamespace(NS).withName(AgentDaemonSetFactory.NAME).get();
        }, d -> d != null);
        PodSpec pod = ds.getSpec().getTemplate().getSpec();
        Container agent = pod.getContainers().get(0);
        assertThat(agent.getImage()).isEqualTo("registry.example.org/conntrack-agent:9.9.9-agent");
        assertThat(agent.getImagePullPolicy()).isEqualTo("Always");
        assertThat(pod.getServiceAccountName()).isEqualTo("ct-agent");
        assertThat(pod.getPriorityClassName()).isEqualTo("conntrack-agents");
        assertThat(pod.getTolerations()).containsExactly(
                new TolerationBuilder().withKey("dedicated").withOperator("Equal").withValue("ingress").withEffect("NoSchedule").build(),
                new TolerationBuilder().withKey("node.kubernetes.io/not-ready").withOperator("Exists").withEffect("NoExecute")
                        .withTolerationSeconds(300L).build());
        assertThat(pod.getNodeSelector()).containsOnly(entry("conntrack.dev/managed", "true"), entry("kubernetes.io/os", "linux"));
        assertThat(agent.getResources().getRequests()).containsOnly(entry("cpu", new Quantity("20m")), entry("memory", new Quantity("64Mi")));
        assertThat(agent.getResources().getLimits()).containsOnly(entry("memory", new Quantity("128Mi")));
        Map<String, String> env = agent.getEnv().stream().filter(e -> e.getValue() != null)
                .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
        assertThat(env).contains(entry("CONNTRACK_STATE_DIR", "/var/lib/ct-test"), entry("CONNTRACK_METRICS_PORT", "19402"));
        assertThat(env.get("JDK_JAVA_OPTIONS")).startsWith(AgentDaemonSetFactory.DEFAULT_JAVA_OPTS)
                .endsWith(" -Xmx40m -Dct.chart.test=agent");
        assertThat(agent.getPorts()).anySatisfy(p -> {
            assertThat(p.getName()).isEqualTo("metrics");
            assertThat(p.getHostPort()).isEqualTo(19402);
        });
        assertThat(pod.getVolumes()).anySatisfy(v -> assertThat(v.getHostPath().getPath()).isEqualTo("/var/lib/ct-test"));
    }

    @Test
    void operatorCreatesTheNodeStateOfANewNode() {
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(operator.isAlive()).as("operator exited:\n" + operator.logTail(30)).isTrue();
            assertThat(client.resources(ConntrackNodeState.class).withName(NODE).get()).as(operator.logTail(40)).isNotNull();
        });
    }

    @Test
    void optionalMonitoringObjectsAreInstalled() {
        for (String plural : new String[] {"podmonitors", "servicemonitors", "prometheusrules"}) {
            ResourceDefinitionContext ctx = new ResourceDefinitionContext.Builder().withGroup("monitoring.coreos.com")
                    .withVersion("v1").withPlural(plural).withNamespaced(true).build();
            assertThat(client.genericKubernetesResources(ctx).inNamespace(NS).list().getItems())
                    .as(plural).extracting(GenericKubernetesResource::getKind).hasSize(1);
        }
        assertThat(client.configMaps().inNamespace(NS).withName(RELEASE + "-conntrack-operator-dashboard").get()).isNotNull();
    }
}
