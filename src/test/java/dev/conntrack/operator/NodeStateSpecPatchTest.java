package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackSettings;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The patch is applied with the client's own JSON patch implementation, to the object as stored. */
class NodeStateSpecPatchTest {
    private static final Node NODE = new NodeBuilder().withNewMetadata().withName("n1").withUid("node-uid").endMetadata().build();

    @Test
    void replacesTheWholeSpecAndLeavesStatusAndMetadataAlone() {
        ConntrackNodeState stored = NodeReconciler.desiredState(NODE, spec(262144, Map.of("a", 1L, "b", 3L)));
        stored.getMetadata().getLabels().put("team", "net");
        stored.setStatus(new ConntrackNodeStateStatus());
        stored.getStatus().setObservedGeneration(4L);
        ConntrackNodeState desired = NodeReconciler.desiredState(NODE, spec(524288, Map.of("a", 2L)));

        List<Map<String, Object>> ops = NodeStateSpecPatch.operations(stored, desired);
        ConntrackNodeState patched = apply(ops, stored);

        assertThat(ops).hasSize(1);
        assertThat(ops.get(0)).containsEntry("op", "add").containsEntry("path", "/spec");
        assertThat(patched.getSpec().getConntrack().getMax()).isEqualTo(524288);
        // Gone from the desired spec, gone from the stored one: "b" no longer selects the node.
        assertThat(patched.getSpec().getPolicyGenerations()).containsExactly(Map.entry("a", 2L));
        assertThat(patched.getStatus().getObservedGeneration()).isEqualTo(4L);
        assertThat(patched.getMetadata().getLabels()).containsEntry("team", "net")
                .containsEntry(OperatorLabels.MANAGED_BY, OperatorLabels.MANAGED_BY_VALUE);
        assertThat(patched.getMetadata().getOwnerReferences()).hasSize(1);
    }

    @Test
    void emptyDesiredSpecClearsTheStoredOne() {
        ConntrackNodeState stored = NodeReconciler.desiredState(NODE, spec(262144, Map.of("a", 1L)));
        ConntrackNodeState desired = NodeReconciler.desiredState(NODE, new ConntrackNodeStateSpec());

        ConntrackNodeState patched = apply(NodeStateSpecPatch.operations(stored, desired), stored);

        assertThat(patched.getSpec().getConntrack()).isNull();
        assertThat(patched.getSpec().getPolicyGenerations()).isNull();
    }

    @Test
    void putsBackARemovedLabelAndOwnerReferenceWithoutTouchingOthers() {
        ConntrackNodeState stored = NodeReconciler.desiredState(NODE, spec(262144, Map.of("a", 1L)));
        stored.getMetadata().setLabels(new HashMap<>(Map.of("team", "net")));
        stored.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap")
                .withName("other").withUid("other-uid").build()));
        ConntrackNodeState desired = NodeReconciler.desiredState(NODE, spec(524288, Map.of("a", 2L)));

        List<Map<String, Object>> ops = NodeStateSpecPatch.operations(stored, desired);
        ConntrackNodeState patched = apply(ops, stored);

        assertThat(ops).extracting(o -> o.get("path")).containsExactly("/spec",
                "/metadata/labels/app.kubernetes.io~1managed-by", "/metadata/ownerReferences/-");
        assertThat(patched.getMetadata().getLabels()).containsEntry("team", "net")
                .containsEntry(OperatorLabels.MANAGED_BY, OperatorLabels.MANAGED_BY_VALUE);
        assertThat(patched.getMetadata().getOwnerReferences()).extracting(o -> o.getUid())
                .containsExactly("other-uid", "node-uid");
        assertThat(patched.getMetadata().getOwnerReferences().get(1).getController()).isTrue();
    }

    @Test
    void addsLabelsAndOwnerReferencesWhenTheStoredObjectHasNone() {
        ConntrackNodeState stored = NodeReconciler.desiredState(NODE, spec(262144, Map.of("a", 1L)));
        stored.getMetadata().setLabels(null);
        stored.getMetadata().setOwnerReferences(null);
        ConntrackNodeState desired = NodeReconciler.desiredState(NODE, spec(524288, Map.of("a", 2L)));

        ConntrackNodeState patched = apply(NodeStateSpecPatch.operations(stored, desired), stored);

        assertThat(patched.getMetadata().getLabels()).containsExactly(Map.entry(OperatorLabels.MANAGED_BY, OperatorLabels.MANAGED_BY_VALUE));
        assertThat(patched.getMetadata().getOwnerReferences()).extracting(o -> o.getUid()).containsExactly("node-uid");
    }

    private static ConntrackNodeStateSpec spec(int max, Map<String, Long> generations) {
        ConntrackNodeStateSpec spec = new ConntrackNodeStateSpec();
        ConntrackSettings ct = new ConntrackSettings();
        ct.setMax(max);
        spec.setConntrack(ct);
        spec.setPolicies(List.copyOf(generations.keySet()));
        spec.setPolicyGenerations(new HashMap<>(generations));
        return spec;
    }

    private static ConntrackNodeState apply(List<Map<String, Object>> ops, ConntrackNodeState stored) {
        JsonNode patch = Serialization.jsonMapper().valueToTree(ops);
        JsonNode result = JsonPatch.apply(patch, Serialization.jsonMapper().valueToTree(stored));
        return Serialization.jsonMapper().convertValue(result, ConntrackNodeState.class);
    }
}
