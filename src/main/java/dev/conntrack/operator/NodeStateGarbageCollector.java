package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.api.model.Node;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;
import java.util.Set;

/**
 * Deletes the node state of a Node that no longer exists. The owner reference lets the cluster's
 * garbage collector do the same; this covers clusters or moments where it has not (yet), and
 * needs no finalizer on Nodes.
 */
@ControllerConfiguration(name = NodeStateGarbageCollector.NAME,
        informer = @Informer(itemStore = PrunedItemStore.NodeStateSpecs.class))
public class NodeStateGarbageCollector implements Reconciler<ConntrackNodeState> {
    public static final String NAME = "nodestate-gc";

    private InformerEventSource<Node, ConntrackNodeState> nodes;

    @Override
    public List<EventSource<?, ConntrackNodeState>> prepareEventSources(EventSourceContext<ConntrackNodeState> context) {
        nodes = new InformerEventSource<>(InformerEventSourceConfiguration.from(Node.class, ConntrackNodeState.class)
                .withName("nodes")
                .withSecondaryToPrimaryMapper(node -> Set.of(new ResourceID(node.getMetadata().getName())))
                // Only a Node's disappearance matters here.
                .withOnUpdateFilter((newNode, oldNode) -> false)
                .withItemStore(new PrunedItemStore<>(PrunedItemStore::node))
                .build(), context);
        return List.of(nodes);
    }

    @Override
    public UpdateControl<ConntrackNodeState> reconcile(ConntrackNodeState state, Context<ConntrackNodeState> context) {
        String name = state.getMetadata().getName();
        // The cache of this informer may lag behind the node reconciler's: confirm with the API
        // server before deleting, so a state created for a brand-new Node is never removed.
        if (nodes.get(new ResourceID(name)).isEmpty()
                && context.getClient().nodes().withName(name).get() == null) {
            context.getClient().resource(state).delete();
        }
        return UpdateControl.noUpdate();
    }
}
