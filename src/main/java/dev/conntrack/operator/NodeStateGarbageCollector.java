package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Deletes the node state of a Node that no longer exists. The owner reference lets the cluster's
 * garbage collector do the same; this covers clusters or moments where it has not (yet), and
 * needs no finalizer on Nodes.
 *
 * <p>Not a controller of node states: that would be a watch of its own on every node state, and
 * each agent status write would reach the operator once more. It reads the shared
 * {@link NodeStateCache} and watches Nodes for their deletion only. A node state is checked when
 * its Node is deleted, when the state appears without a Node (also the initial list: states left
 * over while the operator was down), and by a sweep every minute. Before deleting it asks the API
 * server, so a state created for a brand-new Node that this cache has not seen is never removed.
 */
@Singleton
public class NodeStateGarbageCollector implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NodeStateGarbageCollector.class);
    static final Duration SWEEP = Duration.ofMinutes(1);

    private final KubernetesClient client;
    private final NodeStateCache states;
    private ScheduledExecutorService executor;
    private SharedIndexInformer<Node> nodes;

    @Inject
    public NodeStateGarbageCollector(KubernetesClient client, NodeStateCache states) {
        this.client = client;
        this.states = states;
    }

    /** Lists and watches Nodes, then node states, and starts the sweep. */
    public synchronized void start() {
        if (executor != null) {
            return;
        }
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nodestate-gc");
            t.setDaemon(true);
            return t;
        });
        nodes = client.nodes().runnableInformer(0).itemStore(new PrunedItemStore<Node>(PrunedItemStore::node));
        nodes.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Node node) {
            }

            @Override
            public void onUpdate(Node old, Node node) {
            }

            @Override
            public void onDelete(Node node, boolean deletedFinalStateUnknown) {
                check(node.getMetadata().getName());
            }
        });
        NodeStateCache.startAndWait(nodes, "Nodes");
        states.addListener((old, state, deleted) -> {
            if (old == null && !deleted) {
                check(state.getMetadata().getName());
            }
        });
        states.start();
        executor.scheduleWithFixedDelay(this::sweep, SWEEP.toMillis(), SWEEP.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Looks at one name soon, on the collector's thread (never on a watch thread: it may call the API server). */
    private void check(String name) {
        if (!nodeCached(name)) {
            executor.execute(() -> collect(name));
        }
    }

    private void sweep() {
        for (String name : states.names()) {
            if (!nodeCached(name)) {
                collect(name);
            }
        }
    }

    private boolean nodeCached(String name) {
        return nodes.getStore().getByKey(name) != null;
    }

    /** Deletes the state of this name if it exists and the API server confirms its Node does not. */
    void collect(String name) {
        try {
            if (states.get(name).isEmpty() || nodeCached(name) || client.nodes().withName(name).get() != null) {
                return;
            }
            LOG.infof("Node %s no longer exists: deleting its node state", name);
            client.resources(ConntrackNodeState.class).withName(name).delete();
        } catch (KubernetesClientException e) {
            // The next deletion event or sweep tries again.
            LOG.warnf("node state %s: garbage collection failed (%s); will retry", name, e.getMessage());
        }
    }

    @Override
    public synchronized void close() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
        if (nodes != null) {
            nodes.stop();
            nodes = null;
        }
    }
}
