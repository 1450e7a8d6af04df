package dev.conntrack.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/**
 * The agent's one JSON mapper, shared by its Kubernetes client and its status writer.
 *
 * <p>It is configured exactly like fabric8's default ({@code new KubernetesSerialization()}, which
 * {@code Serialization.jsonMapper()} and {@code KubernetesClientBuilder} use), except that it does
 * not search the class path for every {@code KubernetesResource}: fabric8's default instantiates
 * one object of each model class of every kubernetes-model jar through a ServiceLoader the first
 * time it meets a field typed {@code KubernetesResource} (a watch event's object, say), about a
 * thousand classes of class metadata the agent never uses. The agent's informer only ever
 * receives its own kind, registered here, so a watch event resolves to the same class as before.
 */
final class AgentJson {
    /** Configured by {@link #SERIALIZATION}'s constructor (fabric8's modules and settings). */
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization(MAPPER, false);

    static {
        SERIALIZATION.registerKubernetesResource(ConntrackNodeState.class);
    }

    private AgentJson() {
    }
}
