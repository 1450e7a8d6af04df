package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.util.function.UnaryOperator;

/**
 * An informer store that keeps only what the operator reads of each object. Every cached copy
 * drops metadata.managedFields (at 1,000 nodes these were most of the operator's heap); Nodes keep
 * only identity, labels and CPU capacity (a real Node's status, images included, runs to tens of
 * kilobytes); node states keep what the reader of that cache needs. The object coming from the
 * watch is trimmed in place before it is stored and handed to the event handlers.
 */
public class PrunedItemStore<R extends HasMetadata> extends BasicItemStore<R> {
    private final UnaryOperator<R> prune;

    public PrunedItemStore(UnaryOperator<R> prune) {
        super(Cache::metaNamespaceKeyFunc);
        this.prune = prune;
    }

    @Override
    public R put(String key, R obj) {
        return super.put(key, prune.apply(obj));
    }

    static <R extends HasMetadata> R withoutManagedFields(R resource) {
        if (resource.getMetadata() != null) {
            resource.getMetadata().setManagedFields(null);
        }
        return resource;
    }

    /** Identity, labels and CPU capacity: what selecting and sizing need. */
    static Node node(Node node) {
        withoutManagedFields(node);
        if (node.getMetadata() != null) {
            node.getMetadata().setAnnotations(null);
        }
        node.setSpec(null);
        if (node.getStatus() != null) {
            var capacity = node.getStatus().getCapacity();
            var cpu = capacity == null ? null : capacity.get("cpu");
            node.setStatus(new io.fabric8.kubernetes.api.model.NodeStatus());
            if (cpu != null) {
                node.getStatus().setCapacity(new java.util.HashMap<>(java.util.Map.of("cpu", cpu)));
            }
        }
        return node;
    }

    /**
     * For the one shared node state cache ({@link NodeStateCache}): the whole spec (the node
     * reconciler merges and compares it), the status the roll-up and the audit read (originals
     * included: a few entries, and how the audit tells values the agent wrote from untouched ones);
     * the agent's unavailable signals are read by no one in the operator.
     */
    static ConntrackNodeState nodeStateShared(ConntrackNodeState state) {
        withoutManagedFields(state);
        if (state.getStatus() != null) {
            state.getStatus().setUnavailableSignals(null);
        }
        return state;
    }

    /** For the node reconciler's primary cache. */
    public static class Nodes extends PrunedItemStore<Node> {
        public Nodes() {
            super(PrunedItemStore::node);
        }
    }

    /** For the policy reconciler's primary cache: policies keep spec and status. */
    public static class Policies extends PrunedItemStore<ConntrackPolicy> {
        public Policies() {
            super(PrunedItemStore::withoutManagedFields);
        }
    }
}
