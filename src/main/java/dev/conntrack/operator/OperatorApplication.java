package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import jakarta.inject.Inject;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import com.fasterxml.jackson.core.type.TypeReference;

/**
 * The operator role: starts the reconcilers (the build does not auto-start them, so the agent role
 * never does) behind leader election, keeps the agent DaemonSet in place while it leads, then waits
 * for shutdown.
 */
public class OperatorApplication implements QuarkusApplication {

    @Inject
    Operator operator;

    @Inject
    KubernetesClient client;

    @Inject
    OperatorConfig config;

    @Inject
    LeaderLease leader;

    @Override
    public int run(String... args) {
        AgentDaemonSetManager daemonSet = null;
        if (config.agent().manageDaemonSet()) {
            daemonSet = new AgentDaemonSetManager(client, new AgentDaemonSetFactory().create(agentSettings(config.agent())));
            // Only the leader keeps the DaemonSet; the others only keep their caches warm.
            leader.whenLeading(daemonSet::start);
        }
        operator.start();
        Quarkus.waitForExit();
        // The operator SDK stops the operator next; the Lease is handed over then, not lost.
        leader.shuttingDown();
        if (daemonSet != null) {
            daemonSet.close();
        }
        return 0;
    }

    static AgentDaemonSetSettings agentSettings(OperatorConfig.Agent agent) {
        AgentDaemonSetSettings.Builder builder = AgentDaemonSetSettings.builder(agent.namespace(), agent.image())
                .imagePullPolicy(agent.imagePullPolicy())
                .serviceAccountName(agent.serviceAccountName())
                .priorityClassName(agent.priorityClassName())
                .stateDir(agent.stateDir())
                .metricsPort(agent.metricsPort())
                .resources(AgentDaemonSetSettings.resources(agent.cpuRequest(), agent.memoryRequest(), agent.memoryLimit()));
        agent.tolerationsJson().ifPresent(json ->
                builder.tolerations(List.copyOf(Arrays.asList(Serialization.unmarshal(json, Toleration[].class)))));
        agent.nodeSelectorJson().ifPresent(json -> builder.nodeSelector(labels(json)));
        agent.javaOpts().ifPresent(builder::extraJvmOptions);
        return builder.build();
    }

    private static Map<String, String> labels(String json) {
        try {
            return Map.copyOf(Serialization.jsonMapper().readValue(json, new TypeReference<Map<String, String>>() { }));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("conntrack.agent.node-selector-json is not a JSON object of labels: " + json, e);
        }
    }
}
