package dev.conntrack.fleet;

import dev.conntrack.agent.NodeSpecSource;
import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.Optional;

/**
 * One simulated agent's view of its node state, read from an informer that all simulated agents
 * of the process share. A real agent watches its own node state (a field selector on its name); at
 * thousands of agents per process one watch each would measure the simulator, not the operator.
 */
final class SharedSpecWatch implements NodeSpecSource {
    private final SharedIndexInformer<ConntrackNodeState> shared;
    private final String nodeName;

    SharedSpecWatch(SharedIndexInformer<ConntrackNodeState> shared, String nodeName) {
        this.shared = shared;
        this.nodeName = nodeName;
    }

    @Override
    public Optional<ConntrackNodeState> current() {
        // Cluster-scoped: the store key is the name.
        return Optional.ofNullable(shared.getStore().getByKey(nodeName));
    }
}
