package dev.conntrack.testing;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * Plays a node's agent for tests of the operator: writes the node state's status as the agent
 * does, for the spec generation it has now: Applied, or a refused write that degrades the node.
 */
public final class AgentStatusWriter {
    private AgentStatusWriter() {
    }

    public static void report(KubernetesClient client, ConntrackNodeState state, boolean applied, boolean degraded, String degradedMessage) {
        Long generation = state.getMetadata().getGeneration();
        ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
        status.setObservedGeneration(generation);
        status.setHeartbeatTime(Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        status.setConditions(Conditions.merge(List.of(), List.of(
                Conditions.of("Applied", applied, applied ? "SettingsApplied" : "WriteRefused", "", generation),
                Conditions.of("Degraded", degraded, degraded ? "WriteRefused" : "AsExpected", degraded ? degradedMessage : "", generation),
                Conditions.of("TableFull", false, "NoDrops", "", generation),
                Conditions.of("Pressure", false, "UsageNormal", "", generation)), Instant.now()));
        state.setStatus(status);
        client.resource(state).updateStatus();
    }
}
