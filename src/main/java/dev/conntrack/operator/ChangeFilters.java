package dev.conntrack.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;

/**
 * Update filters for informers. An agent rewrites its node state's status at least once a minute;
 * at 5,000 nodes that is over 80 updates a second, none of which changes what the node reconciler
 * merges (only spec changes, a new metadata.generation, and deletions get through there), and most
 * of which change nothing the roll-up reads but the heartbeat time.
 */
final class ChangeFilters {

    private ChangeFilters() {
    }

    /** For the node reconciler's policy and node state informers: the spec changed or deletion began. */
    static boolean specOrDeletionChanged(HasMetadata newResource, HasMetadata oldResource) {
        return generationChanged(newResource, oldResource) || deletionChanged(newResource, oldResource);
    }

    /**
     * For the roll-up: anything but the agent's heartbeat time changed. A heartbeat that carries
     * nothing new (same conditions, values, usage) causes no roll-up; silent agents are still noticed
     * by the reconciler's periodic re-check.
     */
    static boolean moreThanHeartbeatChanged(ConntrackNodeState newState, ConntrackNodeState oldState) {
        if (specOrDeletionChanged(newState, oldState)) {
            return true;
        }
        return !withoutHeartbeat(newState).equals(withoutHeartbeat(oldState));
    }

    private static JsonNode withoutHeartbeat(ConntrackNodeState state) {
        JsonNode status = JsonTrees.normalized(state.getStatus());
        if (status instanceof ObjectNode object) {
            object.remove("heartbeatTime");
        }
        return status;
    }

    static boolean generationChanged(HasMetadata newResource, HasMetadata oldResource) {
        return !Objects.equals(newResource.getMetadata().getGeneration(), oldResource.getMetadata().getGeneration());
    }

    static boolean deletionChanged(HasMetadata newResource, HasMetadata oldResource) {
        return !Objects.equals(newResource.getMetadata().getDeletionTimestamp(), oldResource.getMetadata().getDeletionTimestamp());
    }
}
