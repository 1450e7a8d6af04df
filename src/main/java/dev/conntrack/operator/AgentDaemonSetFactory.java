package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds the agent DaemonSet: the fixed shape lives in {@code agent-daemonset.yaml} (readable and
 * reviewable as a manifest, like the java-operator-sdk samples), and what an installation decides
 * comes from {@link AgentDaemonSetSettings}, applied with fabric8 builders. The result is the
 * desired state a dependent resource compares with the cluster; it carries no owner reference.
 */
public class AgentDaemonSetFactory {

    public static final String NAME = "conntrack-agent";
    public static final String CONTAINER = "agent";
    public static final String NAME_LABEL = "app.kubernetes.io/name";
    public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
    public static final String MANAGED_BY_LABEL = OperatorLabels.MANAGED_BY;
    public static final String MANAGED_BY_VALUE = OperatorLabels.MANAGED_BY_VALUE;
    /** The DaemonSet's selector: immutable once created, so it never includes labels that may change. */
    public static final Map<String, String> SELECTOR_LABELS = Map.of(NAME_LABEL, NAME, COMPONENT_LABEL, CONTAINER);

    /**
     * The agent role runs a few threads and small buffers on every node: a small heap that starts
     * at 8m and grows only as far as its live data needs (starting at -Xmx keeps a young generation
     * sized for 32m resident), a 1m young generation (an idle poll allocates a few KiB: a bigger
     * eden only holds garbage resident between collections; 0.7 MiB less RSS), the serial
     * collector, C1 only with one compiler thread, and the JVM's performance counters sampled once
     * a second instead of every 50 ms (that sampling was a quarter of the idle agent's CPU; the
     * image runs JDK 17: JDK 25 removed the option and ignores it with a warning).
     * bench/agent-footprint.sh measures these against the alternatives (bench/RESULTS.md).
     */
    public static final String DEFAULT_JAVA_OPTS =
            "-Xmx32m -Xms8m -Xmn1m -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=20 -Xss256k -XX:+UseSerialGC"
            + " -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:MaxMetaspaceSize=48m -XX:ReservedCodeCacheSize=16m"
            + " -XX:PerfDataSamplingInterval=1000 -XX:+ExitOnOutOfMemoryError";

    static final String TEMPLATE = "/agent-daemonset.yaml";
    private static final String STATE_VOLUME = "state";
    private static final String METRICS_PORT = "metrics";

    /** The agent's loopback-only probe port: the one after its metrics port (a host port too, as the agent shares the host's network). */
    static int probePort(int metricsPort) {
        return metricsPort + 1;
    }

    /** Read once; parsed per call so that every DaemonSet returned is a fresh object the caller may change. */
    private static final String TEMPLATE_YAML = readTemplate();

    public DaemonSet create(AgentDaemonSetSettings settings) {
        DaemonSet template = Serialization.unmarshal(TEMPLATE_YAML, DaemonSet.class);
        String stateDir = settings.stateDir();
        int port = settings.metricsPort();
        return new DaemonSetBuilder(template)
                .editMetadata()
                    .withName(NAME)
                    .withNamespace(settings.namespace())
                .endMetadata()
                .editSpec()
                    .editTemplate()
                        .editSpec()
                            .withServiceAccountName(settings.serviceAccountName())
                            .withPriorityClassName(settings.priorityClassName())
                            .withTolerations(copy(settings.tolerations()))
                            // Sorted, and absent rather than empty, so the desired state is stable.
                            .withNodeSelector(settings.nodeSelector().isEmpty() ? null : new TreeMap<>(settings.nodeSelector()))
                            .editMatchingContainer(c -> CONTAINER.equals(c.getName()))
                                .withImage(settings.image())
                                .withImagePullPolicy(settings.imagePullPolicy())
                                .withResources(new ResourceRequirementsBuilder(settings.resources()).build())
                                .addToEnv(env("CONNTRACK_STATE_DIR", stateDir))
                                .addToEnv(env("CONNTRACK_METRICS_PORT", Integer.toString(port)))
                                .addToEnv(env("CONNTRACK_PROBE_PORT", Integer.toString(probePort(port))))
                                .addToEnv(env("JDK_JAVA_OPTIONS", javaOpts(settings.extraJvmOptions())))
                                // hostNetwork: the container port is the host port.
                                .editMatchingPort(p -> METRICS_PORT.equals(p.getName()))
                                    .withContainerPort(port)
                                    .withHostPort(port)
                                .endPort()
                                .editMatchingVolumeMount(m -> STATE_VOLUME.equals(m.getName()))
                                    .withMountPath(stateDir)
                                .endVolumeMount()
                                .editLivenessProbe().editHttpGet().withNewPort(probePort(port)).endHttpGet().endLivenessProbe()
                                .editReadinessProbe().editHttpGet().withNewPort(probePort(port)).endHttpGet().endReadinessProbe()
                            .endContainer()
                            // Mounted at the same path as on the host, so paths in logs and status mean the same on both.
                            .editMatchingVolume(v -> STATE_VOLUME.equals(v.getName()))
                                .editHostPath()
                                    .withPath(stateDir)
                                .endHostPath()
                            .endVolume()
                        .endSpec()
                    .endTemplate()
                .endSpec()
                .build();
    }

    static String javaOpts(String extra) {
        return extra == null || extra.isBlank() ? DEFAULT_JAVA_OPTS : DEFAULT_JAVA_OPTS + " " + extra.trim();
    }

    private static EnvVar env(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    /** Tolerations are mutable: copy them so the settings never share objects with a DaemonSet. */
    private static List<Toleration> copy(List<Toleration> tolerations) {
        return tolerations.stream().map(t -> new TolerationBuilder(t).build()).toList();
    }

    private static String readTemplate() {
        try (InputStream in = AgentDaemonSetFactory.class.getResourceAsStream(TEMPLATE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + TEMPLATE + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + TEMPLATE, e);
        }
    }
}
