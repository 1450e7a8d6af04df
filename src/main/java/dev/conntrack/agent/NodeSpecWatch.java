package dev.conntrack.agent;

import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Watches this node's ConntrackNodeState, and only it (a field selector on its name: the agent
 * never lists other nodes' states). The informer reconnects by itself when the API server goes
 * away; until the state has been seen once, the spec is unknown and the agent only monitors.
 */
public class NodeSpecWatch implements AutoCloseable {
    private final AtomicReference<ConntrackNodeState> latest = new AtomicReference<>();
    private final SharedIndexInformer<ConntrackNodeState> informer;
    private volatile boolean seen;

    public NodeSpecWatch(KubernetesClient client, String nodeName, Runnable onChange) {
        informer = client.resources(ConntrackNodeState.class)
                .withField("metadata.name", nodeName)
                .runnableInformer(0);
        // Keep retrying (with the informer's backoff) instead of stopping when the API server is
        // unreachable at start-up or goes away later: enforcement goes on meanwhile.
        informer.exceptionHandler((started, error) -> true);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConntrackNodeState state) {
                update(state);
                onChange.run();
            }

            @Override
            public void onUpdate(ConntrackNodeState old, ConntrackNodeState state) {
                Long before = old.getMetadata().getGeneration();
                update(state);
                if (before == null || !before.equals(state.getMetadata().getGeneration())) {
                    onChange.run();
                }
            }

            @Override
            public void onDelete(ConntrackNodeState state, boolean unknownFinalState) {
                // A deleted state says nothing about the desired settings: keep enforcing the last known spec.
            }

            private void update(ConntrackNodeState state) {
                latest.set(state);
                seen = true;
            }
        });
    }

    /**
     * For a subclass that gets the node state elsewhere and overrides {@link #current()}, e.g. a
     * fleet simulation that runs many agents in one process over one shared informer.
     */
    protected NodeSpecWatch() {
        informer = null;
    }

    /** Starts watching without waiting: the API server may be unreachable right now. */
    public void start() {
        if (informer != null) {
            informer.start();
        }
    }

    /** The newest node state seen, empty until the first one arrives. */
    public Optional<ConntrackNodeState> current() {
        return seen ? Optional.ofNullable(latest.get()) : Optional.empty();
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
    }
}
