package dev.conntrack.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Quantity;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;

/**
 * Update filters for informers. An agent rewrites its node state's status at least once a minute;
 * at 5,000 nodes that is over 80 updates a second, none of which changes what the node reconciler
 * merges (only spec changes, a new metadata.generation, and deletions get through there), and most
 * of which change nothing the roll-up reads but the heartbeat time. The kubelet rewrites its Node's
 * status every few minutes; only labels and CPU capacity matter here.
 */
public final class ChangeFilters {

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

    /**
     * Which policy updates re-run the policy reconciler: spec edits (generation), deletion, finalizer
     * changes, and the resume annotation. Not its own status writes. It replaces the operator SDK's
     * generation-aware filtering, which would also drop the annotation-only update that resumes a
     * paused rollout.
     */
    public static class PolicyUpdates implements OnUpdateFilter<ConntrackPolicy> {
        @Override
        public boolean accept(ConntrackPolicy newPolicy, ConntrackPolicy oldPolicy) {
            return generationChanged(newPolicy, oldPolicy)
                    || deletionChanged(newPolicy, oldPolicy)
                    || !Objects.equals(newPolicy.getMetadata().getFinalizers(), oldPolicy.getMetadata().getFinalizers())
                    || !Objects.equals(RolloutPlanner.resumeAnnotation(newPolicy), RolloutPlanner.resumeAnnotation(oldPolicy));
        }
    }

    /**
     * Node updates that matter to the operator: labels (selectors) and CPU capacity (per-core sizing),
     * a new uid (the Node was recreated), deletion; not the kubelet's status heartbeats.
     */
    public static class NodeUpdates implements OnUpdateFilter<Node> {
        @Override
        public boolean accept(Node newNode, Node oldNode) {
            return !Objects.equals(newNode.getMetadata().getLabels(), oldNode.getMetadata().getLabels())
                    || !Objects.equals(cpu(newNode), cpu(oldNode))
                    || !Objects.equals(newNode.getMetadata().getUid(), oldNode.getMetadata().getUid())
                    || deletionChanged(newNode, oldNode);
        }

        private static String cpu(Node node) {
            Quantity q = node.getStatus() == null || node.getStatus().getCapacity() == null ? null
                    : node.getStatus().getCapacity().get("cpu");
            return q == null ? null : q.toString();
        }
    }
}
