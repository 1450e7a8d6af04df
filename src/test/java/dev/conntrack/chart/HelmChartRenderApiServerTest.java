package dev.conntrack.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conntrack.agent.AgentMetrics;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.operator.AgentDaemonSetSettings;
import dev.conntrack.testing.Chart;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicy;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingAdmissionPolicyBinding;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/**
 * The chart as rendered by helm, with default values and with every option on: exactly the
 * expected objects, minimal RBAC rule by rule, the agent settings in the operator's environment,
 * monitoring objects only when asked for and wired to what the agent really exports, their rules
 * passing promtool; and the real API server accepts every rendered object (server-side dry run,
 * which also compiles the admission policy's CEL), the monitoring ones against the Prometheus
 * Operator's own CRDs.
 */
class HelmChartRenderApiServerTest {
    private static final String NS = "conntrack-system";
    private static final String ALL_NS = "render-" + UUID.randomUUID().toString().substring(0, 8);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static KubernetesClient client;
    private static List<HasMetadata> defaults;
    private static List<HasMetadata> allOptions;

    @BeforeAll
    static void render() {
        client = TestApiServer.newClient();
        Chart.installMonitoringCrds(client);
        defaults = Chart.parse(client, Chart.template("conntrack-operator", NS));
        allOptions = Chart.parse(client, Chart.template("ct", ALL_NS, "-f", Chart.allOptionsValues().toString()));
    }

    @AfterAll
    static void close() {
        client.namespaces().withName(ALL_NS).delete();
        client.close();
    }

    @Test
    void lintIsCleanWithDefaultsAndWithEveryOption() {
        assertThat(TestApiServer.helm("lint", "--strict", Chart.dir().toString())).contains("0 chart(s) failed");
        assertThat(TestApiServer.helm("lint", "--strict", Chart.dir().toString(), "-f", Chart.allOptionsValues().toString()))
                .contains("0 chart(s) failed");
    }

    @Test
    void defaultsRenderOperatorAgentRbacAndTheAdmissionPolicyOnly() {
        assertThat(ids(defaults)).containsExactlyInAnyOrder(
                "ServiceAccount/conntrack-system/conntrack-operator",
                "ServiceAccount/conntrack-system/conntrack-agent",
                "ClusterRole//conntrack-operator",
                "ClusterRoleBinding//conntrack-operator",
                "Role/conntrack-system/conntrack-operator",
                "RoleBinding/conntrack-system/conntrack-operator",
                "ClusterRole//conntrack-operator-agent",
                "ClusterRoleBinding//conntrack-operator-agent",
                "Role/default/conntrack-operator-agent-events",
                "RoleBinding/default/conntrack-operator-agent-events",
                "Deployment/conntrack-system/conntrack-operator",
                "ValidatingAdmissionPolicy//conntrack-operator-agent-own-node-state",
                "ValidatingAdmissionPolicyBinding//conntrack-operator-agent-own-node-state",
                "ValidatingAdmissionPolicy//conntrack-operator-agent-own-node-events",
                "ValidatingAdmissionPolicyBinding//conntrack-operator-agent-own-node-events");
    }

    @Test
    void rbacIsExactlyWhatTheCodeCalls() {
        assertThat(rules(one(defaults, ClusterRole.class, "conntrack-operator").getRules())).containsExactly(
                "conntrack.dev conntrackpolicies: get list watch patch",
                "conntrack.dev conntrackpolicies/status: patch",
                "conntrack.dev conntracknodestates: list watch create patch",
                " nodes: list watch");
        assertThat(rules(one(defaults, Role.class, "conntrack-operator").getRules())).containsExactly(
                "apps daemonsets [conntrack-agent]: list watch patch",
                "apps daemonsets: create",
                "coordination.k8s.io leases [conntrack-operator]: get update patch",
                "coordination.k8s.io leases: create");
        assertThat(rules(one(defaults, ClusterRole.class, "conntrack-operator-agent").getRules())).containsExactly(
                "conntrack.dev conntracknodestates: list watch",
                "conntrack.dev conntracknodestates/status: patch");
        assertThat(rules(one(defaults, Role.class, "conntrack-operator-agent-events").getRules())).containsExactly(
                " events: create patch");
        assertBinding(one(defaults, ClusterRoleBinding.class, "conntrack-operator").getRoleRef().getName(),
                one(defaults, ClusterRoleBinding.class, "conntrack-operator").getSubjects(), "conntrack-operator", NS, "conntrack-operator");
        assertBinding(one(defaults, ClusterRoleBinding.class, "conntrack-operator-agent").getRoleRef().getName(),
                one(defaults, ClusterRoleBinding.class, "conntrack-operator-agent").getSubjects(), "conntrack-operator-agent", NS, "conntrack-agent");
        RoleBinding rb = one(defaults, RoleBinding.class, "conntrack-operator");
        assertBinding(rb.getRoleRef().getName(), rb.getSubjects(), "conntrack-operator", NS, "conntrack-operator");
        RoleBinding events = one(defaults, RoleBinding.class, "conntrack-operator-agent-events");
        assertBinding(events.getRoleRef().getName(), events.getSubjects(), "conntrack-operator-agent-events", NS, "conntrack-agent");
    }

    @Test
    void defaultDeploymentIsRestrictedAndCarriesTheDefaultAgentSettings() {
        Deployment d = one(defaults, Deployment.class, "conntrack-operator");
        assertThat(Chart.env(d)).containsExactly(
                entry("CONNTRACK_ROLE", "operator"),
                entry("JDK_JAVA_OPTIONS", "-Xmx192m -XX:+UseSerialGC"),
                entry("CONNTRACK_ROLLOUT_SETTLE", "2s"),
                entry("CONNTRACK_AGENT_NAMESPACE", NS),
                entry("CONNTRACK_AGENT_IMAGE", "conntrack-operator:0.1.0"),
                entry("CONNTRACK_AGENT_IMAGE_PULL_POLICY", "IfNotPresent"),
                entry("CONNTRACK_AGENT_SERVICE_ACCOUNT_NAME", "conntrack-agent"),
                entry("CONNTRACK_AGENT_PRIORITY_CLASS_NAME", "system-node-critical"),
                entry("CONNTRACK_AGENT_STATE_DIR", "/var/lib/conntrack-operator"),
                entry("CONNTRACK_AGENT_METRICS_PORT", "9402"),
                entry("CONNTRACK_AGENT_CPU_REQUEST", "10m"),
                entry("CONNTRACK_AGENT_MEMORY_REQUEST", "64Mi"),
                entry("CONNTRACK_AGENT_MEMORY_LIMIT", "96Mi"));
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        assertThat(pod.getServiceAccountName()).isEqualTo("conntrack-operator");
        assertThat(pod.getContainers().get(0).getImage()).isEqualTo("conntrack-operator:0.1.0");
        // The Pod Security "restricted" level, field by field.
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        var container = pod.getContainers().get(0).getSecurityContext();
        assertThat(container.getAllowPrivilegeEscalation()).isFalse();
        assertThat(container.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(container.getReadOnlyRootFilesystem()).isTrue();
        assertThat(container.getPrivileged()).isNull();
        assertThat(pod.getHostNetwork()).isNull();
        assertThat(d.getSpec().getReplicas()).isEqualTo(1);
    }

    @Test
    void theOperatorIsProbedOnlyAfterAStartupProbeThatWaitsForANormalStart() {
        var container = one(defaults, Deployment.class, "conntrack-operator").getSpec().getTemplate().getSpec().getContainers().get(0);
        var startup = container.getStartupProbe();
        assertThat(startup.getHttpGet().getPath()).isEqualTo("/q/health/ready");
        // About 3 s to Ready on a real node: the first check comes after that, then one a second.
        assertThat(startup.getInitialDelaySeconds()).isEqualTo(5);
        assertThat(startup.getPeriodSeconds()).isEqualTo(1);
        assertThat(startup.getFailureThreshold() * startup.getPeriodSeconds()).isEqualTo(120);
        assertThat(container.getReadinessProbe().getInitialDelaySeconds()).isNull();
        assertThat(container.getLivenessProbe().getInitialDelaySeconds()).as("the startup probe covers the start").isNull();
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("agent.metricsPort=notaport", "at '/agent/metricsPort': got string, want integer"),
                Arguments.of("agent.metricsPort=0", "at '/agent/metricsPort': minimum"),
                Arguments.of("agent.metricsPort=65536", "at '/agent/metricsPort': maximum"),
                Arguments.of("agent.metricPort=9402", "at '/agent': additional properties 'metricPort' not allowed"),
                Arguments.of("image.pullPolicy=Sometimes", "at '/image/pullPolicy'"),
                Arguments.of("agent.stateDir=var/lib/ct", "at '/agent/stateDir'"),
                Arguments.of("agent.resources.memoryLimit=lots", "at '/agent/resources/memoryLimit'"),
                Arguments.of("operator.resources.requests.cpu=fast", "at '/operator/resources/requests/cpu'"),
                Arguments.of("operator.rolloutSettle=soon", "at '/operator/rolloutSettle'"),
                Arguments.of("agent.admissionPolicy.enabled=maybe", "at '/agent/admissionPolicy/enabled'"),
                Arguments.of("agent.tolerations[0].operator=Sometimes", "at '/agent/tolerations/0/operator'"),
                Arguments.of("monitoring.prometheusRule.usageRatioThreshold=1.5", "at '/monitoring/prometheusRule/usageRatioThreshold'"),
                Arguments.of("monitoring.podMonitor.interval=often", "at '/monitoring/podMonitor/interval'"),
                Arguments.of("operator.serviceAccountName=Not_A_Name", "at '/operator/serviceAccountName'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void aBadValueIsRefusedAtRenderNamingIt(String value, String named) {
        String error = TestApiServer.helmFailure("template", "conntrack-operator", Chart.dir().toString(), "--namespace", NS,
                "--set", value);
        assertThat(error).contains("values don't meet the specifications of the schema").contains(named);
    }

    @Test
    void aBadValueIsRefusedAtInstallAndNothingIsInstalled() throws Exception {
        String ns = "badvalues-" + UUID.randomUUID().toString().substring(0, 8);
        java.nio.file.Path kubeconfig = TestApiServer.kubeConfigFile(java.nio.file.Files.createTempDirectory("badvalues"));
        String error = TestApiServer.helmFailure("install", "bad", Chart.dir().toString(), "--namespace", ns, "--skip-crds",
                "--kubeconfig", kubeconfig.toString(), "--set", "agent.metricsPort=notaport");
        assertThat(error).contains("at '/agent/metricsPort': got string, want integer");
        assertThat(client.apps().deployments().inNamespace(ns).list().getItems()).isEmpty();
        assertThat(client.namespaces().withName(ns).get()).as("not even the namespace").isNull();
    }

    @Test
    void everyValuesFileOfTheRepositoryPassesTheSchema() {
        assertThat(TestApiServer.helm("template", "x", Chart.dir().toString(), "-f", Chart.dir().resolve("values.yaml").toString(),
                "-f", Chart.allOptionsValues().toString())).contains("kind: Deployment");
    }

    @Test
    void helmTemplateRendersWithoutAClusterAndDefaultFlags() {
        // What a user or a GitOps pipeline runs offline: Helm assumes Kubernetes v1.20 and knows no optional API.
        String offline = TestApiServer.helm("template", "conntrack-operator", Chart.dir().toString(), "--namespace", NS);
        List<HasMetadata> objects = Chart.parse(client, offline);
        assertThat(kinds(objects)).contains("Deployment", "ClusterRole").doesNotContain("ValidatingAdmissionPolicy");
        assertThat(offline).contains("the agents' ValidatingAdmissionPolicy is not rendered")
                .contains("--api-versions " + Chart.VALIDATING_ADMISSION_POLICY);

        String told = TestApiServer.helm("template", "conntrack-operator", Chart.dir().toString(), "--namespace", NS,
                "--api-versions", Chart.VALIDATING_ADMISSION_POLICY);
        assertThat(kinds(Chart.parse(client, told))).contains("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding");
        assertThat(told).doesNotContain("is not rendered");
    }

    @Test
    void admissionPolicyMatchesOnlyTheAgentServiceAccountOnNodeStateWrites() {
        ValidatingAdmissionPolicy vap = one(defaults, ValidatingAdmissionPolicy.class, "conntrack-operator-agent-own-node-state");
        assertThat(vap.getSpec().getFailurePolicy()).isEqualTo("Fail");
        assertThat(vap.getSpec().getMatchConditions()).singleElement().satisfies(c -> assertThat(c.getExpression())
                .isEqualTo("request.userInfo.username == 'system:serviceaccount:conntrack-system:conntrack-agent'"));
        assertThat(vap.getSpec().getMatchConstraints().getResourceRules()).singleElement().satisfies(r -> {
            assertThat(r.getApiGroups()).containsExactly("conntrack.dev");
            assertThat(r.getOperations()).containsExactly("UPDATE");
            assertThat(r.getResources()).containsExactly("conntracknodestates", "conntracknodestates/status");
        });
        ValidatingAdmissionPolicyBinding binding = one(defaults, ValidatingAdmissionPolicyBinding.class, vap.getMetadata().getName());
        assertThat(binding.getSpec().getPolicyName()).isEqualTo(vap.getMetadata().getName());
        assertThat(binding.getSpec().getValidationActions()).containsExactly("Deny");

        String withoutIt = Chart.template("conntrack-operator", NS, "--set", "agent.admissionPolicy.enabled=false");
        assertThat(kinds(Chart.parse(client, withoutIt)))
                .doesNotContain("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding");
    }

    @Test
    void everyOptionRendersItsObjects() {
        assertThat(ids(allOptions)).containsExactlyInAnyOrder(
                "Namespace//" + ALL_NS,
                "ServiceAccount/" + ALL_NS + "/ct-operator",
                "ServiceAccount/" + ALL_NS + "/ct-agent",
                "ClusterRole//ct-conntrack-operator",
                "ClusterRoleBinding//ct-conntrack-operator",
                "Role/" + ALL_NS + "/ct-conntrack-operator",
                "RoleBinding/" + ALL_NS + "/ct-conntrack-operator",
                "ClusterRole//ct-conntrack-operator-agent",
                "ClusterRoleBinding//ct-conntrack-operator-agent",
                "Role/default/ct-conntrack-operator-agent-events",
                "RoleBinding/default/ct-conntrack-operator-agent-events",
                "Deployment/" + ALL_NS + "/ct-conntrack-operator",
                "ValidatingAdmissionPolicy//ct-conntrack-operator-agent-own-node-state",
                "ValidatingAdmissionPolicyBinding//ct-conntrack-operator-agent-own-node-state",
                "ValidatingAdmissionPolicy//ct-conntrack-operator-agent-own-node-events",
                "ValidatingAdmissionPolicyBinding//ct-conntrack-operator-agent-own-node-events",
                "PodMonitor/" + ALL_NS + "/conntrack-agent",
                "Service/" + ALL_NS + "/ct-conntrack-operator-metrics",
                "ServiceMonitor/" + ALL_NS + "/ct-conntrack-operator",
                "PrometheusRule/" + ALL_NS + "/ct-conntrack-operator",
                "ConfigMap/" + ALL_NS + "/ct-conntrack-operator-dashboard");

        Namespace ns = one(allOptions, Namespace.class, ALL_NS);
        assertThat(ns.getMetadata().getLabels()).contains(
                entry("pod-security.kubernetes.io/enforce", "privileged"),
                entry("pod-security.kubernetes.io/audit", "privileged"),
                entry("pod-security.kubernetes.io/warn", "privileged"));
        assertBinding(one(allOptions, ClusterRoleBinding.class, "ct-conntrack-operator-agent").getRoleRef().getName(),
                one(allOptions, ClusterRoleBinding.class, "ct-conntrack-operator-agent").getSubjects(),
                "ct-conntrack-operator-agent", ALL_NS, "ct-agent");
        assertThat(one(allOptions, ValidatingAdmissionPolicy.class, "ct-conntrack-operator-agent-own-node-state")
                .getSpec().getMatchConditions().get(0).getExpression()).contains("system:serviceaccount:" + ALL_NS + ":ct-agent'");
        assertThat(one(allOptions, ValidatingAdmissionPolicy.class, "ct-conntrack-operator-agent-own-node-events")
                .getSpec().getMatchConditions().get(0).getExpression()).contains("system:serviceaccount:" + ALL_NS + ":ct-agent'");
        assertBinding(one(allOptions, RoleBinding.class, "ct-conntrack-operator-agent-events").getRoleRef().getName(),
                one(allOptions, RoleBinding.class, "ct-conntrack-operator-agent-events").getSubjects(),
                "ct-conntrack-operator-agent-events", ALL_NS, "ct-agent");
    }

    @Test
    void deploymentEnvironmentCarriesEveryAgentSetting() throws Exception {
        Deployment d = one(allOptions, Deployment.class, "ct-conntrack-operator");
        Map<String, String> env = Chart.env(d);
        assertThat(env).contains(
                entry("JDK_JAVA_OPTIONS", "-Xmx160m -XX:+UseSerialGC -Dct.chart.test=all-options"),
                entry("CONNTRACK_AGENT_NAMESPACE", ALL_NS),
                entry("CONNTRACK_AGENT_IMAGE", "registry.example.org/conntrack-agent:9.9.9-agent"),
                entry("CONNTRACK_AGENT_IMAGE_PULL_POLICY", "Always"),
                entry("CONNTRACK_AGENT_SERVICE_ACCOUNT_NAME", "ct-agent"),
                entry("CONNTRACK_AGENT_PRIORITY_CLASS_NAME", "conntrack-agents"),
                entry("CONNTRACK_AGENT_STATE_DIR", "/var/lib/ct-test"),
                entry("CONNTRACK_AGENT_METRICS_PORT", "19402"),
                entry("CONNTRACK_AGENT_CPU_REQUEST", "20m"),
                entry("CONNTRACK_AGENT_MEMORY_REQUEST", "64Mi"),
                entry("CONNTRACK_AGENT_MEMORY_LIMIT", "128Mi"),
                entry("CONNTRACK_AGENT_JAVA_OPTS", "-Xmx40m -Dct.chart.test=agent"));
        assertThat(List.of(Serialization.unmarshal(env.get("CONNTRACK_AGENT_TOLERATIONS_JSON"), Toleration[].class))).containsExactly(
                new TolerationBuilder().withKey("dedicated").withOperator("Equal").withValue("ingress").withEffect("NoSchedule").build(),
                new TolerationBuilder().withKey("node.kubernetes.io/not-ready").withOperator("Exists").withEffect("NoExecute")
                        .withTolerationSeconds(300L).build());
        assertThat(JSON.readValue(env.get("CONNTRACK_AGENT_NODE_SELECTOR_JSON"), Map.class))
                .isEqualTo(Map.of("conntrack.dev/managed", "true", "kubernetes.io/os", "linux"));
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        assertThat(pod.getContainers().get(0).getImage()).isEqualTo("registry.example.org/conntrack-operator:9.9.9");
        assertThat(pod.getServiceAccountName()).isEqualTo("ct-operator");
        assertThat(pod.getNodeSelector()).containsExactly(entry("kubernetes.io/os", "linux"));
        assertThat(pod.getTolerations()).extracting(Toleration::getKey).containsExactly("node-role.kubernetes.io/control-plane");
    }

    @Test
    void monitoringObjectsAppearOnlyWhenEnabled() {
        assertThat(kinds(defaults)).doesNotContain("PodMonitor", "ServiceMonitor", "PrometheusRule", "ConfigMap", "Service", "Namespace");
        assertThat(kinds(Chart.parse(client, Chart.template("conntrack-operator", NS, "--set", "monitoring.podMonitor.enabled=true"))))
                .contains("PodMonitor").doesNotContain("ServiceMonitor", "PrometheusRule", "ConfigMap", "Service");
        assertThat(kinds(Chart.parse(client, Chart.template("conntrack-operator", NS, "--set", "monitoring.serviceMonitor.enabled=true"))))
                .contains("ServiceMonitor", "Service").doesNotContain("PodMonitor", "PrometheusRule", "ConfigMap");
        assertThat(kinds(Chart.parse(client, Chart.template("conntrack-operator", NS, "--set", "monitoring.prometheusRule.enabled=true"))))
                .contains("PrometheusRule").doesNotContain("PodMonitor", "ServiceMonitor", "ConfigMap");
        assertThat(kinds(Chart.parse(client, Chart.template("conntrack-operator", NS, "--set", "monitoring.grafanaDashboard.enabled=true"))))
                .contains("ConfigMap").doesNotContain("PodMonitor", "ServiceMonitor", "PrometheusRule");
    }

    @Test
    void podMonitorScrapesTheMetricsPortOfTheDaemonSetTheOperatorBuilds() {
        GenericKubernetesResource pm = generic(allOptions, "PodMonitor", "conntrack-agent");
        // What the operator really creates, with the same settings the chart passes it.
        var ds = new AgentDaemonSetFactory().create(AgentDaemonSetSettings.builder(ALL_NS, "img").metricsPort(19402).build());
        assertThat(pm.<Map<String, String>>get("spec", "selector", "matchLabels")).isEqualTo(AgentDaemonSetFactory.SELECTOR_LABELS);
        assertThat(ds.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(AgentDaemonSetFactory.SELECTOR_LABELS);
        Map<String, Object> endpoint = pm.<List<Map<String, Object>>>get("spec", "podMetricsEndpoints").get(0);
        String port = (String) endpoint.get("port");
        assertThat(ds.getSpec().getTemplate().getSpec().getContainers().get(0).getPorts())
                .anySatisfy(p -> {
                    assertThat(p.getName()).isEqualTo(port);
                    assertThat(p.getContainerPort()).isEqualTo(19402);
                });
        assertThat(endpoint).containsEntry("path", "/metrics").containsEntry("interval", "15s");
        assertThat(endpoint.get("relabelings")).asList().singleElement().isEqualTo(Map.of(
                "sourceLabels", List.of("__meta_kubernetes_pod_node_name"), "targetLabel", "node"));
        // The job label the alerts select comes from the pods' app.kubernetes.io/name.
        assertThat(pm.<String>get("spec", "jobLabel")).isEqualTo(AgentDaemonSetFactory.NAME_LABEL);
        assertThat(ds.getSpec().getTemplate().getMetadata().getLabels()).containsEntry(AgentDaemonSetFactory.NAME_LABEL, "conntrack-agent");
        assertThat(pm.getMetadata().getLabels()).containsEntry("release", "kube-prometheus-stack");
    }

    @Test
    void serviceMonitorReachesTheOperatorsQuarkusMetrics() {
        Deployment d = one(allOptions, Deployment.class, "ct-conntrack-operator");
        Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
        Service svc = one(allOptions, Service.class, "ct-conntrack-operator-metrics");
        assertThat(podLabels).containsAllEntriesOf(svc.getSpec().getSelector());
        assertThat(svc.getMetadata().getLabels()).containsAllEntriesOf(
                generic(allOptions, "ServiceMonitor", "ct-conntrack-operator").<Map<String, String>>get("spec", "selector", "matchLabels"));
        Map<String, Object> endpoint = generic(allOptions, "ServiceMonitor", "ct-conntrack-operator")
                .<List<Map<String, Object>>>get("spec", "endpoints").get(0);
        assertThat(endpoint).containsEntry("port", "http").containsEntry("path", "/q/metrics").containsEntry("interval", "60s");
    }

    @Test
    void alertsHaveTheAgreedExpressionsSeveritiesAndRunbooks() {
        Map<String, Map<String, Object>> rules = new LinkedHashMap<>();
        List<Map<String, Object>> groups = generic(allOptions, "PrometheusRule", "ct-conntrack-operator").get("spec", "groups");
        for (Map<String, Object> group : groups) {
            for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
                rules.put((String) rule.get("alert"), rule);
            }
        }
        String sel = "{job=\"conntrack-agent\", namespace=\"" + ALL_NS + "\"}";
        assertThat(rules).containsOnlyKeys("ConntrackTableUsageHigh", "ConntrackPacketsDropped", "ConntrackApplyErrors",
                "ConntrackAgentDown", "ConntrackAgentsAbsent");
        assertRule(rules.get("ConntrackTableUsageHigh"), "conntrack_table_usage_ratio" + sel + " > 0.8", "10m", "warning");
        assertRule(rules.get("ConntrackPacketsDropped"), "increase(conntrack_drop_total" + sel + "[5m]) > 0", null, "critical");
        assertRule(rules.get("ConntrackApplyErrors"), "increase(conntrack_apply_errors_total" + sel + "[10m]) > 0", null, "warning");
        assertRule(rules.get("ConntrackAgentDown"), "up" + sel + " == 0", "5m", "warning");
        assertRule(rules.get("ConntrackAgentsAbsent"), "absent_over_time(up" + sel + "[5m])", null, "warning");
        for (Map<String, Object> rule : rules.values()) {
            Map<String, String> annotations = (Map<String, String>) rule.get("annotations");
            assertThat(annotations).containsOnlyKeys("summary", "description", "runbook_url");
            assertThat(annotations.get("runbook_url")).isEqualTo("https://docs.example.org/conntrack-operator/README.md#troubleshooting");
            // Prometheus templates survive Helm's own templating.
            assertThat(annotations.get("summary")).doesNotContain("{{ \"{{\" }}");
        }
        assertThat(((Map<String, String>) rules.get("ConntrackTableUsageHigh").get("annotations")).get("summary"))
                .isEqualTo("conntrack table on {{ $labels.node }} is {{ $value | humanizePercentage }} full");
        // The default runbook is the README's troubleshooting section.
        String defaultRule = Chart.template("conntrack-operator", NS, "--set", "monitoring.prometheusRule.enabled=true");
        assertThat(defaultRule).contains("runbook_url: \"README.md#troubleshooting\"");
    }

    @Test
    void prometheusRuleRulesPassPromtool() throws Exception {
        // The rules as Prometheus loads them from the PrometheusRule (its spec is a rule file's
        // content): PromQL parsed, durations, labels and annotation templates checked by promtool.
        for (List<HasMetadata> rendered : List.of(allOptions,
                Chart.parse(client, Chart.template("conntrack-operator", NS, "--set", "monitoring.prometheusRule.enabled=true")))) {
            GenericKubernetesResource rule = rendered.stream().filter(i -> "PrometheusRule".equals(i.getKind()))
                    .map(GenericKubernetesResource.class::cast).findFirst().orElseThrow();
            Path file = Files.createTempFile("conntrack-rules", ".yaml");
            try {
                Files.writeString(file, Serialization.asYaml(rule.get("spec")));
                Process p = new ProcessBuilder(promtool().toString(), "check", "rules", file.toString()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as(out).isZero();
                assertThat(out).contains("SUCCESS: 5 rules found");
            } finally {
                Files.deleteIfExists(file);
            }
        }
    }

    @Test
    void dashboardHasTheAgreedPanelsOnMetricsTheAgentExports() throws Exception {
        ConfigMap cm = one(allOptions, ConfigMap.class, "ct-conntrack-operator-dashboard");
        assertThat(cm.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        JsonNode dashboard = JSON.readTree(cm.getData().get("conntrack.json"));
        List<String> titles = new ArrayList<>();
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : dashboard.get("panels")) {
            titles.add(panel.get("title").asText());
            panel.get("targets").forEach(t -> exprs.add(t.get("expr").asText()));
        }
        assertThat(titles).containsExactly("Table usage (entries / nf_conntrack_max)", "Entries vs limit",
                "Drops per second (table full)", "Early drops and insert failures per second",
                "\"table full\" kernel log lines", "Apply errors");
        Set<String> used = metricNames(String.join("\n", exprs));
        assertThat(used).contains("conntrack_table_usage_ratio", "conntrack_table_entries", "conntrack_table_limit",
                "conntrack_drop_total", "conntrack_early_drop_total", "conntrack_insert_failed_total",
                "conntrack_table_full_log_lines_total", "conntrack_apply_errors_total");
        assertThat(agentMetricNames()).containsAll(used);
        String rulesYaml = Serialization.asYaml(generic(allOptions, "PrometheusRule", "ct-conntrack-operator").get("spec"));
        assertThat(agentMetricNames()).containsAll(metricNames(rulesYaml));
    }

    @Test
    void apiServerAcceptsEveryRenderedObject() {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ALL_NS).endMetadata().build()).serverSideApply();
        for (HasMetadata item : allOptions) {
            HasMetadata accepted = client.resource(item).dryRun().fieldManager("chart-test").forceConflicts().serverSideApply();
            assertThat(accepted.getMetadata().getName()).isEqualTo(item.getMetadata().getName());
        }
        for (HasMetadata item : defaults) {
            if (item.getMetadata().getNamespace() == null) {
                client.resource(item).dryRun().fieldManager("chart-test").forceConflicts().serverSideApply();
            }
        }
    }

    /** promtool, built by hack/build-test-binaries.sh from the Prometheus Go module. */
    private static Path promtool() {
        Path tool = Path.of(System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest"), "bin", "promtool");
        assertThat(tool).as("run hack/build-test-binaries.sh (the test command does)").isExecutable();
        return tool;
    }

    private static void assertRule(Map<String, Object> rule, String expr, String forDuration, String severity) {
        assertThat((String) rule.get("expr")).isEqualTo(expr);
        assertThat((String) rule.get("for")).isEqualTo(forDuration);
        assertThat(((Map<String, String>) rule.get("labels"))).containsExactly(entry("severity", severity));
    }

    private static void assertBinding(String roleName, List<io.fabric8.kubernetes.api.model.rbac.Subject> subjects,
            String expectedRole, String namespace, String serviceAccount) {
        assertThat(roleName).isEqualTo(expectedRole);
        assertThat(subjects).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(serviceAccount);
            assertThat(s.getNamespace()).isEqualTo(namespace);
        });
    }

    /** Names the agent registers, as they appear in the exposition format. */
    private static Set<String> agentMetricNames() {
        PrometheusRegistry registry = new PrometheusRegistry();
        new AgentMetrics(registry);
        Set<String> names = new HashSet<>();
        for (MetricSnapshot snapshot : registry.scrape()) {
            String name = snapshot.getMetadata().getPrometheusName();
            if (snapshot instanceof CounterSnapshot) {
                names.add(name + "_total");
            } else if (snapshot instanceof SummarySnapshot) {
                names.addAll(List.of(name, name + "_count", name + "_sum"));
            } else {
                names.add(name);
            }
        }
        return names;
    }

    private static Set<String> metricNames(String text) {
        Set<String> names = new HashSet<>();
        Matcher m = Pattern.compile("\\bconntrack_[a-z_]+").matcher(text);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    private static List<String> rules(List<PolicyRule> rules) {
        return rules.stream().map(r -> String.join(" ", r.getApiGroups()) + " " + String.join(" ", r.getResources())
                + (r.getResourceNames() == null || r.getResourceNames().isEmpty() ? "" : " " + r.getResourceNames())
                + ": " + String.join(" ", r.getVerbs())).toList();
    }

    private static List<String> ids(List<HasMetadata> items) {
        return items.stream().map(i -> i.getKind() + "/" + (i.getMetadata().getNamespace() == null ? "" : i.getMetadata().getNamespace())
                + "/" + i.getMetadata().getName()).toList();
    }

    private static List<String> kinds(List<HasMetadata> items) {
        return items.stream().map(HasMetadata::getKind).toList();
    }

    private static <T extends HasMetadata> T one(List<HasMetadata> items, Class<T> type, String name) {
        return items.stream().filter(type::isInstance).map(type::cast)
                .filter(i -> name.equals(i.getMetadata().getName())).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name + " in " + ids(items)));
    }

    private static GenericKubernetesResource generic(List<HasMetadata> items, String kind, String name) {
        return items.stream().filter(i -> kind.equals(i.getKind()) && name.equals(i.getMetadata().getName()))
                .map(GenericKubernetesResource.class::cast).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + ids(items)));
    }
}
