package dev.conntrack.operator;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Quantity;
import io.javaoperatorsdk.operator.processing.event.source.filter.OnUpdateFilter;
import java.util.Objects;

/**
 * Node updates that matter to the operator: labels (selectors) and CPU capacity (per-core sizing).
 * The kubelet rewrites its Node's status every few minutes (conditions, images); on 5,000 nodes
 * those would re-run merges and roll-ups for nothing.
 */
public class NodeUpdateFilter implements OnUpdateFilter<Node> {

    @Override
    public boolean accept(Node newNode, Node oldNode) {
        return !Objects.equals(newNode.getMetadata().getLabels(), oldNode.getMetadata().getLabels())
                || !Objects.equals(cpu(newNode), cpu(oldNode))
                || !Objects.equals(newNode.getMetadata().getUid(), oldNode.getMetadata().getUid())
                || ChangeFilters.deletionChanged(newNode, oldNode);
    }

    private static String cpu(Node node) {
        Quantity q = node.getStatus() == null || node.getStatus().getCapacity() == null ? null
                : node.getStatus().getCapacity().get("cpu");
        return q == null ? null : q.toString();
    }
}
