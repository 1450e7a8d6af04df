package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentDaemonSetFactoryTest {

    private final AgentDaemonSetFactory factory = new AgentDaemonSetFactory();

    @Test
    void defaultsGiveAPrivilegedHostLevelAgentOnEveryNode() {
        DaemonSet ds = factory.create(AgentDaemonSetSettings.builder("conntrack-system", "registry.example/conntrack:1.2.3").build());

        assertThat(ds.getMetadata().getName()).isEqualTo("conntrack-agent");
        assertThat(ds.getMetadata().getNamespace()).isEqualTo("conntrack-system");
        Map<String, String> labels = Map.of(
                "app.kubernetes.io/name", "conntrack-agent",
                "app.kubernetes.io/component", "agent",
                "app.kubernetes.io/managed-by", "conntrack-operator");
        assertThat(ds.getMetadata().getLabels()).containsAllEntriesOf(labels);
        assertThat(ds.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(labels);
        assertThat(ds.getSpec().getSelector().getMatchLabels()).containsOnly(
                entry("app.kubernetes.io/name", "conntrack-agent"),
                entry("app.kubernetes.io/component", "agent"));
        assertThat(ds.getSpec().getSelector().getMatchLabels()).isEqualTo(AgentDaemonSetFactory.SELECTOR_LABELS);
        assertThat(ds.getMetadata().getLabels())
                .containsEntry(AgentDaemonSetFactory.MANAGED_BY_LABEL, AgentDaemonSetFactory.MANAGED_BY_VALUE);

        assertThat(ds.getSpec().getUpdateStrategy().getType()).isEqualTo("RollingUpdate");
        assertThat(ds.getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getStrVal()).isEqualTo("10%");

        PodSpec pod = ds.getSpec().getTemplate().getSpec();
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getHostPID()).isTrue();
        assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirstWithHostNet");
        assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(10L);
        assertThat(pod.getServiceAccountName()).isEqualTo("conntrack-agent");
        assertThat(pod.getPriorityClassName()).isEqualTo("system-node-critical");
        assertThat(pod.getNodeSelector()).isNullOrEmpty();
        assertThat(pod.getTolerations()).singleElement().satisfies(t -> {
            assertThat(t.getOperator()).isEqualTo("Exists");
            assertThat(t.getKey()).isNull();
            assertThat(t.getEffect()).isNull();
        });

        assertThat(pod.getContainers()).hasSize(1);
        Container agent = pod.getContainers().get(0);
        assertThat(agent.getName()).isEqualTo("agent");
        assertThat(agent.getImage()).isEqualTo("registry.example/conntrack:1.2.3");
        assertThat(agent.getImagePullPolicy()).isNull();
        assertThat(agent.getSecurityContext().getPrivileged()).isTrue();
        // The image runs as a non-root user by default (for the operator); the agent needs root.
        assertThat(agent.getSecurityContext().getRunAsUser()).isZero();
        assertThat(agent.getSecurityContext().getRunAsNonRoot()).isFalse();
        assertThat(agent.getResources().getRequests()).containsOnly(
                entry("cpu", new Quantity("10m")), entry("memory", new Quantity("64Mi")));
        assertThat(agent.getResources().getLimits()).containsOnly(entry("memory", new Quantity("96Mi")));

        assertThat(env(agent, "CONNTRACK_ROLE").getValue()).isEqualTo("agent");
        EnvVar nodeName = env(agent, "NODE_NAME");
        assertThat(nodeName.getValue()).isNull();
        assertThat(nodeName.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        assertThat(env(agent, "CONNTRACK_HOST_ROOT").getValue()).isEqualTo("/");
        assertThat(env(agent, "CONNTRACK_STATE_DIR").getValue()).isEqualTo("/var/lib/conntrack-operator");
        assertThat(env(agent, "CONNTRACK_METRICS_PORT").getValue()).isEqualTo("9402");
        assertThat(env(agent, "JDK_JAVA_OPTIONS").getValue()).isEqualTo(
                "-Xmx32m -Xms8m -Xmn1m -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=20 -Xss256k -XX:+UseSerialGC"
                        + " -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:MaxMetaspaceSize=48m -XX:ReservedCodeCacheSize=16m"
                        + " -XX:PerfDataSamplingInterval=1000 -XX:+ExitOnOutOfMemoryError");
        // Fewer glibc malloc arenas for the agent's ~30 threads (bench/RESULTS.md).
        assertThat(env(agent, "MALLOC_ARENA_MAX").getValue()).isEqualTo("2");

        assertThat(agent.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("metrics");
            assertThat(p.getContainerPort()).isEqualTo(9402);
            assertThat(p.getHostPort()).isEqualTo(9402);
        });
        // Both probes on the loopback-only probe port, the one after the metrics port.
        assertThat(agent.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/-/live");
        assertThat(agent.getLivenessProbe().getHttpGet().getHost()).isEqualTo("127.0.0.1");
        assertThat(agent.getLivenessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(9403);
        assertThat(agent.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/-/ready");
        assertThat(agent.getReadinessProbe().getHttpGet().getHost()).isEqualTo("127.0.0.1");
        assertThat(agent.getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(9403);
        assertThat(env(agent, "CONNTRACK_PROBE_PORT").getValue()).isEqualTo("9403");

        Volume state = pod.getVolumes().get(0);
        assertThat(state.getHostPath().getPath()).isEqualTo("/var/lib/conntrack-operator");
        assertThat(state.getHostPath().getType()).isEqualTo("DirectoryOrCreate");
        assertThat(agent.getVolumeMounts().get(0)).satisfies(m -> {
            assertThat(m.getName()).isEqualTo(state.getName());
            assertThat(m.getMountPath()).isEqualTo("/var/lib/conntrack-operator");
            assertThat(m.getReadOnly()).isNotEqualTo(Boolean.TRUE);
        });
        // Pod names for the reported namespaces: the kubelet's log folders, read-only.
        Volume podLogs = pod.getVolumes().get(1);
        assertThat(podLogs.getHostPath().getPath()).isEqualTo("/var/log/pods");
        assertThat(agent.getVolumeMounts().get(1)).satisfies(m -> {
            assertThat(m.getName()).isEqualTo(podLogs.getName());
            assertThat(m.getMountPath()).isEqualTo("/var/log/pods");
            assertThat(m.getReadOnly()).isTrue();
        });
        assertThat(pod.getVolumes()).hasSize(2);
    }

    @Test
    void settingsOverrideTheDefaults() {
        Toleration onlyNoSchedule = new TolerationBuilder().withKey("dedicated").withOperator("Equal")
                .withValue("ingress").withEffect("NoSchedule").build();
        AgentDaemonSetSettings settings = AgentDaemonSetSettings.builder("ops", "mirror.local/conntrack:dev")
                .imagePullPolicy("Always")
                .serviceAccountName("agent-sa")
                .priorityClassName("custom-critical")
                .tolerations(List.of(onlyNoSchedule))
                .nodeSelector(Map.of("kubernetes.io/os", "linux"))
                .resources(new ResourceRequirementsBuilder().addToRequests("memory", new Quantity("64Mi")).build())
                .stateDir("/opt/conntrack")
                .metricsPort(19402)
                .extraJvmOptions(" -Xmx48m ")
                .build();

        DaemonSet ds = factory.create(settings);

        PodSpec pod = ds.getSpec().getTemplate().getSpec();
        Container agent = pod.getContainers().get(0);
        assertThat(ds.getMetadata().getNamespace()).isEqualTo("ops");
        assertThat(agent.getImage()).isEqualTo("mirror.local/conntrack:dev");
        assertThat(agent.getImagePullPolicy()).isEqualTo("Always");
        assertThat(pod.getServiceAccountName()).isEqualTo("agent-sa");
        assertThat(pod.getPriorityClassName()).isEqualTo("custom-critical");
        assertThat(pod.getTolerations()).containsExactly(onlyNoSchedule);
        assertThat(pod.getNodeSelector()).containsOnly(entry("kubernetes.io/os", "linux"));
        assertThat(agent.getResources().getRequests()).containsOnly(entry("memory", new Quantity("64Mi")));
        assertThat(env(agent, "CONNTRACK_STATE_DIR").getValue()).isEqualTo("/opt/conntrack");
        assertThat(agent.getVolumeMounts().get(0).getMountPath()).isEqualTo("/opt/conntrack");
        assertThat(pod.getVolumes().get(0).getHostPath().getPath()).isEqualTo("/opt/conntrack");
        assertThat(env(agent, "CONNTRACK_METRICS_PORT").getValue()).isEqualTo("19402");
        assertThat(agent.getPorts().get(0).getContainerPort()).isEqualTo(19402);
        assertThat(agent.getPorts().get(0).getHostPort()).isEqualTo(19402);
        assertThat(agent.getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(19403);
        assertThat(agent.getLivenessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(19403);
        // Extra options come last, so a second -Xmx overrides the default one.
        assertThat(env(agent, "JDK_JAVA_OPTIONS").getValue()).startsWith("-Xmx32m ").endsWith(" -Xmx48m");

        // The DaemonSet does not share mutable objects with the settings.
        pod.getTolerations().get(0).setValue("changed");
        assertThat(settings.tolerations().get(0).getValue()).isEqualTo("ingress");
    }

    @Test
    void everyCallReturnsAnEqualButSeparateObject() {
        AgentDaemonSetSettings settings = AgentDaemonSetSettings.builder("ns", "img:1").build();
        DaemonSet first = factory.create(settings);
        DaemonSet second = factory.create(settings);

        String expected = Serialization.asYaml(second);
        assertThat(Serialization.asYaml(first)).isEqualTo(expected);
        // The operator edits what it gets (server-side apply, drift repair): no edit of one result,
        // however deep, may leak into another one or into the next call's.
        PodSpec pod = first.getSpec().getTemplate().getSpec();
        pod.getContainers().get(0).setImage("other");
        pod.getContainers().get(0).getEnv().get(0).setValue("changed");
        pod.getContainers().get(0).getResources().getRequests().put("memory", new Quantity("1Gi"));
        pod.getVolumes().get(0).getHostPath().setPath("/elsewhere");
        pod.getTolerations().get(0).setOperator("Equal");
        first.getMetadata().getLabels().put("edited", "true");
        first.getSpec().getSelector().getMatchLabels().put("edited", "true");

        assertThat(Serialization.asYaml(second)).isEqualTo(expected);
        assertThat(Serialization.asYaml(factory.create(settings))).isEqualTo(expected);
        assertThat(second.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("img:1");
    }

    @Test
    void namespaceImageAndPortAreChecked() {
        assertThatThrownBy(() -> AgentDaemonSetSettings.builder(null, "img").build()).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> AgentDaemonSetSettings.builder("ns", null).build()).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> AgentDaemonSetSettings.builder("ns", "img").metricsPort(70000).build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static EnvVar env(Container c, String name) {
        List<EnvVar> matches = c.getEnv().stream().filter(e -> name.equals(e.getName())).toList();
        assertThat(matches).as("env " + name).hasSize(1);
        return matches.get(0);
    }
}
