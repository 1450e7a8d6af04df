package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What an installation decides about the agent DaemonSet. Everything but namespace and image has
 * a default that suits a node-level daemon: tolerate every taint (conntrack fills up on tainted
 * nodes too), run at system-node-critical so it is not evicted under the very pressure it
 * reports, and stay small.
 *
 * @param imagePullPolicy null leaves Kubernetes' default (Always for :latest, else IfNotPresent)
 * @param extraJvmOptions appended after the lean defaults, so a later -Xmx wins; null for none
 */
public record AgentDaemonSetSettings(
        String namespace,
        String image,
        String imagePullPolicy,
        String serviceAccountName,
        String priorityClassName,
        List<Toleration> tolerations,
        Map<String, String> nodeSelector,
        ResourceRequirements resources,
        String stateDir,
        int metricsPort,
        String extraJvmOptions) {

    public static final String DEFAULT_SERVICE_ACCOUNT = "conntrack-agent";
    public static final String DEFAULT_PRIORITY_CLASS = "system-node-critical";
    public static final String DEFAULT_STATE_DIR = "/var/lib/conntrack-operator";
    public static final int DEFAULT_METRICS_PORT = 9402;

    public AgentDaemonSetSettings {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(image, "image");
        serviceAccountName = serviceAccountName == null ? DEFAULT_SERVICE_ACCOUNT : serviceAccountName;
        priorityClassName = priorityClassName == null ? DEFAULT_PRIORITY_CLASS : priorityClassName;
        tolerations = tolerations == null ? defaultTolerations() : List.copyOf(tolerations);
        nodeSelector = nodeSelector == null ? Map.of() : Map.copyOf(nodeSelector);
        resources = resources == null ? defaultResources() : resources;
        stateDir = stateDir == null ? DEFAULT_STATE_DIR : stateDir;
        metricsPort = metricsPort == 0 ? DEFAULT_METRICS_PORT : metricsPort;
        if (metricsPort < 1 || metricsPort > 65535) {
            throw new IllegalArgumentException("metricsPort must be 1-65535, got " + metricsPort);
        }
    }

    public static Builder builder(String namespace, String image) {
        return new Builder(namespace, image);
    }

    /** One toleration with operator Exists and no key: tolerates every taint. */
    public static List<Toleration> defaultTolerations() {
        return List.of(new TolerationBuilder().withOperator("Exists").build());
    }

    /** The agent's default resources; also the operator's configuration defaults ({@link OperatorConfig.Agent}). */
    public static final String DEFAULT_CPU_REQUEST = "10m";
    public static final String DEFAULT_MEMORY_REQUEST = "64Mi";
    public static final String DEFAULT_MEMORY_LIMIT = "96Mi";

    /**
     * Requests that fit beside kubelet on any node and cover what an idle agent uses (about 61 MiB
     * resident, bench/RESULTS.md); a memory limit, no CPU limit (no throttling of the poll loop).
     */
    public static ResourceRequirements defaultResources() {
        return resources(DEFAULT_CPU_REQUEST, DEFAULT_MEMORY_REQUEST, DEFAULT_MEMORY_LIMIT);
    }

    /** CPU and memory requests and a memory limit; never a CPU limit. */
    public static ResourceRequirements resources(String cpuRequest, String memoryRequest, String memoryLimit) {
        return new ResourceRequirementsBuilder()
                .addToRequests("cpu", new Quantity(cpuRequest))
                .addToRequests("memory", new Quantity(memoryRequest))
                .addToLimits("memory", new Quantity(memoryLimit))
                .build();
    }

    public static final class Builder {
        private final String namespace;
        private final String image;
        private String imagePullPolicy;
        private String serviceAccountName;
        private String priorityClassName;
        private List<Toleration> tolerations;
        private Map<String, String> nodeSelector;
        private ResourceRequirements resources;
        private String stateDir;
        private int metricsPort;
        private String extraJvmOptions;

        private Builder(String namespace, String image) {
            this.namespace = namespace;
            this.image = image;
        }

        public Builder imagePullPolicy(String value) { this.imagePullPolicy = value; return this; }
        public Builder serviceAccountName(String value) { this.serviceAccountName = value; return this; }
        public Builder priorityClassName(String value) { this.priorityClassName = value; return this; }
        public Builder tolerations(List<Toleration> value) { this.tolerations = value; return this; }
        public Builder nodeSelector(Map<String, String> value) { this.nodeSelector = value; return this; }
        public Builder resources(ResourceRequirements value) { this.resources = value; return this; }
        public Builder stateDir(String value) { this.stateDir = value; return this; }
        public Builder metricsPort(int value) { this.metricsPort = value; return this; }
        public Builder extraJvmOptions(String value) { this.extraJvmOptions = value; return this; }

        public AgentDaemonSetSettings build() {
            return new AgentDaemonSetSettings(namespace, image, imagePullPolicy, serviceAccountName, priorityClassName,
                    tolerations, nodeSelector, resources, stateDir, metricsPort, extraJvmOptions);
        }
    }
}
