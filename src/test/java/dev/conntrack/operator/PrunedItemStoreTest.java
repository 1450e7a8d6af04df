package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackSettings;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class PrunedItemStoreTest {

    @Test
    void cachedNodesKeepIdentityLabelsAndCpuOnly() {
        Node node = new NodeBuilder().withNewMetadata().withName("n1").withUid("u1").withResourceVersion("7")
                .addToLabels("pool", "a").addToAnnotations("big", "x".repeat(1000))
                .withManagedFields(new ManagedFieldsEntryBuilder().withManager("kubelet").build()).endMetadata()
                .withNewSpec().withPodCIDR("10.0.0.0/24").endSpec()
                .withNewStatus().addToCapacity("cpu", new Quantity("8")).addToCapacity("memory", new Quantity("32Gi"))
                .addNewImage().withNames("registry/image:1").endImage().endStatus().build();
        PrunedItemStore.Nodes store = new PrunedItemStore.Nodes();

        store.put(store.getKey(node), node);

        Node cached = store.get("n1");
        assertThat(cached.getMetadata().getManagedFields()).isNullOrEmpty();
        assertThat(cached.getMetadata().getAnnotations()).isNullOrEmpty();
        assertThat(cached.getMetadata().getLabels()).containsEntry("pool", "a");
        assertThat(cached.getMetadata().getUid()).isEqualTo("u1");
        assertThat(cached.getSpec()).isNull();
        assertThat(cached.getStatus().getCapacity()).containsOnlyKeys("cpu");
        assertThat(cached.getStatus().getImages()).isNullOrEmpty();
        assertThat(ConntrackSizing.cores(cached)).isEqualTo(OptionalInt.of(8));
    }

    @Test
    void nodeStatesKeepTheSpecAndWhatTheRollUpReadsOfTheStatus() {
        ConntrackNodeState cached = state();
        PrunedItemStore.nodeStateShared(cached);
        assertThat(cached.getMetadata().getManagedFields()).isNullOrEmpty();
        assertThat(cached.getSpec().getConntrack().getMax()).isEqualTo(262144);
        assertThat(cached.getSpec().getPolicyGenerations()).containsEntry("p", 3L);
        assertThat(cached.getStatus().getObservedGeneration()).isEqualTo(4L);
        assertThat(cached.getStatus().getPending()).containsEntry("max", "262144");
        // The audit reads them: values the agent wrote earlier are not the node's own.
        assertThat(cached.getStatus().getOriginals()).containsEntry("max", "65536");
        assertThat(cached.getStatus().getUnavailableSignals()).isNull();
    }

    @Test
    void onlyLabelCapacityIdentityAndDeletionChangesOfNodesGetThrough() {
        ChangeFilters.NodeUpdates filter = new ChangeFilters.NodeUpdates();
        Node before = new NodeBuilder().withNewMetadata().withName("n").withUid("u").addToLabels("a", "1").endMetadata()
                .withNewStatus().addToCapacity("cpu", new Quantity("4")).endStatus().build();

        Node heartbeat = new NodeBuilder(before).editStatus().addNewCondition().withType("Ready").withStatus("True").endCondition()
                .endStatus().build();
        assertThat(filter.accept(heartbeat, before)).isFalse();
        assertThat(filter.accept(new NodeBuilder(before).editMetadata().addToLabels("b", "2").endMetadata().build(), before)).isTrue();
        assertThat(filter.accept(new NodeBuilder(before).editStatus().addToCapacity("cpu", new Quantity("8")).endStatus().build(), before))
                .isTrue();
        assertThat(filter.accept(new NodeBuilder(before).editMetadata().withDeletionTimestamp("2026-03-01T10:00:00Z").endMetadata().build(),
                before)).isTrue();
    }

    private static ConntrackNodeState state() {
        ConntrackNodeState s = new ConntrackNodeState();
        s.getMetadata().setName("n1");
        s.getMetadata().setManagedFields(List.of(new ManagedFieldsEntryBuilder().withManager("agent").build()));
        ConntrackSettings ct = new ConntrackSettings();
        ct.setMax(262144);
        s.getSpec().setConntrack(ct);
        s.getSpec().setPolicyGenerations(Map.of("p", 3L));
        ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
        status.setObservedGeneration(4L);
        status.setPending(Map.of("max", "262144"));
        status.setOriginals(Map.of("max", "65536"));
        status.setUnavailableSignals(List.of("kmsg: /dev/kmsg unreadable"));
        s.setStatus(status);
        return s;
    }
}
