package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import org.junit.jupiter.api.Test;

class ConntrackSizingTest {

    @Test
    void perCoreTimesCores() {
        assertThat(ConntrackSizing.max(node("4"), 32768, null)).hasValue(131072);
        assertThat(ConntrackSizing.max(node("4"), 32768, 65536)).hasValue(131072);
    }

    @Test
    void minWinsOnSmallNodes() {
        // kube-proxy's defaults: 32768 per core, at least 131072.
        assertThat(ConntrackSizing.max(node("2"), 32768, 131072)).hasValue(131072);
    }

    @Test
    void millicoresRoundUpToWholeCores() {
        assertThat(ConntrackSizing.cores(node("3500m"))).hasValue(4);
        assertThat(ConntrackSizing.cores(node("4000m"))).hasValue(4);
        assertThat(ConntrackSizing.cores(node("250m"))).hasValue(1);
        assertThat(ConntrackSizing.max(node("3500m"), 32768, null)).hasValue(131072);
    }

    @Test
    void missingOrUnreadableCapacityGivesNothing() {
        Node noStatus = new NodeBuilder().withNewMetadata().withName("n").endMetadata().build();
        Node noCpu = new NodeBuilder().withNewMetadata().withName("n").endMetadata()
                .withNewStatus().addToCapacity("memory", new Quantity("8Gi")).endStatus().build();

        assertThat(ConntrackSizing.cores(noStatus)).isEmpty();
        assertThat(ConntrackSizing.cores(noCpu)).isEmpty();
        assertThat(ConntrackSizing.cores(node("0"))).isEmpty();
        assertThat(ConntrackSizing.cores(node("lots"))).isEmpty();
        assertThat(ConntrackSizing.max(noCpu, 32768, 131072)).isEmpty();
    }

    @Test
    void capsAtTheKernelsIntRange() {
        // docs/policy-guide.md: "capped at 2147483647".
        assertThat(ConntrackSizing.max(16777216, null, 256)).isEqualTo(2147483647);
    }

    static Node node(String cpu) {
        return new NodeBuilder().withNewMetadata().withName("n").endMetadata()
                .withNewStatus().addToCapacity("cpu", new Quantity(cpu)).endStatus().build();
    }
}
