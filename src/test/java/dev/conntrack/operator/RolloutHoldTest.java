package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.PolicySnapshot;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RolloutHoldTest {
    private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
    private static final Instant T1 = Instant.parse("2026-03-01T10:05:00Z");
    private static final RolloutHold.Admissions NONE = (p, g, n) -> false;
    private static final RolloutHold.Admissions ALL = (p, g, n) -> true;

    private final PolicyMerger merger = new PolicyMerger();
    private final Node node = new NodeBuilder().withNewMetadata().withName("n1").addToLabels("pool", "a").endMetadata().build();

    @Test
    void aNewPolicyGivesNothingUntilTheNodeIsAdmitted() {
        ConntrackPolicy p = policy("p", 1, 1048576);

        RolloutHold.Result waiting = RolloutHold.choose(node, List.of(p), null, NONE, T0);
        assertThat(waiting.policies()).isEmpty();
        assertThat(waiting.snapshots()).isEmpty();

        RolloutHold.Result admitted = RolloutHold.choose(node, List.of(p), null, ALL, T0);
        assertThat(admitted.policies()).containsExactly(p);
        PolicySnapshot snapshot = admitted.snapshots().get("p");
        assertThat(snapshot.getGeneration()).isEqualTo(1L);
        assertThat(snapshot.getSince()).isEqualTo("2026-03-01T10:00:00Z");
        assertThat(snapshot.getConntrack().getMax()).isEqualTo(1048576);
    }

    @Test
    void anEditIsHeldAtTheSnapshotUntilAdmittedThenTaken() {
        ConntrackNodeStateSpec built = build(List.of(policy("p", 1, 262144)), null, ALL, T0);
        ConntrackPolicy edited = policy("p", 2, 1048576);

        ConntrackNodeStateSpec held = build(List.of(edited), built, NONE, T1);
        assertThat(held.getConntrack().getMax()).isEqualTo(262144);
        assertThat(held.getPolicyGenerations()).containsEntry("p", 1L);
        assertThat(PolicyMerger.sameSpec(held, built)).as("nothing to write while held").isTrue();

        ConntrackNodeStateSpec advanced = build(List.of(edited), held, ALL, T1);
        assertThat(advanced.getConntrack().getMax()).isEqualTo(1048576);
        assertThat(advanced.getPolicyGenerations()).containsEntry("p", 2L);
        assertThat(advanced.getPolicySnapshots().get("p").getSince()).isEqualTo("2026-03-01T10:05:00Z");

        // Once taken, the node keeps it and its time without any admission.
        ConntrackNodeStateSpec again = build(List.of(edited), advanced, NONE, T1.plusSeconds(60));
        assertThat(PolicyMerger.sameSpec(again, advanced)).isTrue();
    }

    @Test
    void aHeldPolicyKeepsItsOldPriorityInTheMerge() {
        ConntrackPolicy low = policy("low", 1, 131072);
        ConntrackPolicy high = policy("high", 1, 262144);
        high.getSpec().setPriority(10);
        ConntrackNodeStateSpec built = build(List.of(low, high), null, ALL, T0);
        assertThat(built.getConntrack().getMax()).isEqualTo(262144);

        ConntrackPolicy demoted = policy("high", 2, 262144);
        demoted.getSpec().setPriority(0);
        ConntrackNodeStateSpec held = build(List.of(low, demoted), built, NONE, T1);
        assertThat(held.getConntrack().getMax()).as("high still wins at its old priority").isEqualTo(262144);
        assertThat(held.getSources()).containsEntry("conntrack.max", "high");
    }

    @Test
    void anEditThatChangesNoSettingIsTakenWithoutWaiting() {
        ConntrackNodeStateSpec built = build(List.of(policy("p", 1, 262144)), null, ALL, T0);
        ConntrackPolicy onlyRolloutEdited = policy("p", 2, 262144);
        onlyRolloutEdited.getSpec().setRollout(RolloutPlannerTest.rollout("50%"));

        ConntrackNodeStateSpec taken = build(List.of(onlyRolloutEdited), built, NONE, T1);

        assertThat(taken.getPolicyGenerations()).containsEntry("p", 2L);
    }

    @Test
    void revertingLetsHeldNodesTakeTheRevertAtOnceWhileUpdatedOnesWait() {
        ConntrackNodeStateSpec onOne = build(List.of(policy("p", 1, 262144)), null, ALL, T0);
        ConntrackNodeStateSpec onTwo = build(List.of(policy("p", 2, 1048576)), onOne, ALL, T0);
        ConntrackPolicy reverted = policy("p", 3, 262144);

        ConntrackNodeStateSpec heldNode = build(List.of(reverted), onOne, NONE, T1);
        assertThat(heldNode.getPolicyGenerations()).containsEntry("p", 3L);
        assertThat(heldNode.getConntrack().getMax()).isEqualTo(262144);

        ConntrackNodeStateSpec updatedNode = build(List.of(reverted), onTwo, NONE, T1);
        assertThat(updatedNode.getPolicyGenerations()).containsEntry("p", 2L);
        assertThat(updatedNode.getConntrack().getMax()).isEqualTo(1048576);
        assertThat(build(List.of(reverted), onTwo, ALL, T1).getConntrack().getMax()).isEqualTo(262144);
    }

    @Test
    void batchingOffTakesTheNewGenerationAtOnce() {
        ConntrackPolicy p = policy("p", 1, 262144);
        p.getSpec().setRollout(RolloutPlannerTest.rollout("100%"));

        assertThat(RolloutHold.choose(node, List.of(p), null, NONE, T0).policies()).containsExactly(p);
    }

    @Test
    void aSpecWrittenBeforeSnapshotsExistedIsNeitherDroppedNorHeld() {
        ConntrackNodeStateSpec legacy = merger.resolve(node, List.of(policy("p", 1, 262144)));
        assertThat(legacy.getPolicySnapshots()).isNull();

        ConntrackNodeStateSpec same = build(List.of(policy("p", 1, 262144)), legacy, NONE, T1);
        assertThat(same.getConntrack().getMax()).isEqualTo(262144);
        assertThat(same.getPolicySnapshots()).containsKey("p");
        ConntrackNodeStateSpec newer = build(List.of(policy("p", 2, 524288)), legacy, NONE, T1);
        assertThat(newer.getConntrack().getMax()).as("no old settings to keep: take the new ones").isEqualTo(524288);
    }

    @Test
    void policiesThatStopSelectingOrAreDeletedLeaveAtOnce() {
        ConntrackNodeStateSpec built = build(List.of(policy("p", 1, 262144)), null, ALL, T0);
        ConntrackPolicy elsewhere = policy("p", 2, 262144);
        elsewhere.getSpec().setNodeSelector(new NodeSelector(Map.of("pool", "b"), null));
        assertThat(build(List.of(elsewhere), built, NONE, T1).getPolicies()).isEmpty();

        ConntrackPolicy deleting = policy("p", 1, 262144);
        deleting.getMetadata().setDeletionTimestamp("2026-03-01T10:04:00Z");
        assertThat(build(List.of(deleting), built, NONE, T1).getPolicies()).isEmpty();
    }

    private ConntrackNodeStateSpec build(List<ConntrackPolicy> policies, ConntrackNodeStateSpec existing,
            RolloutHold.Admissions admissions, Instant now) {
        RolloutHold.Result chosen = RolloutHold.choose(node, policies, existing, admissions, now);
        ConntrackNodeStateSpec spec = merger.resolve(node, chosen.policies());
        spec.setPolicySnapshots(chosen.snapshots());
        return spec;
    }

    static ConntrackPolicy policy(String name, long generation, int max) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName(name);
        p.getMetadata().setGeneration(generation);
        p.getSpec().setPriority(0);
        ConntrackSettings ct = new ConntrackSettings();
        ct.setMax(max);
        p.getSpec().setConntrack(ct);
        return p;
    }
}
