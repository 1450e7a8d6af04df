package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.PolicySnapshot;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RolloutHoldTest {
    private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
    private static final Instant T1 = Instant.parse("2026-03-01T10:05:00Z");
    private static final Duration WINDOW = Duration.ofSeconds(2);
    private static final RolloutHold.Admissions NONE = admissions(false, Duration.ZERO);
    private static final RolloutHold.Admissions ALL = admissions(true, Duration.ZERO);
    private static final RolloutHold.Validity VALID = p -> true;

    private final PolicyMerger merger = new PolicyMerger();
    private final Node node = new NodeBuilder().withNewMetadata().withName("n1").addToLabels("pool", "a").endMetadata().build();

    @Test
    void aNewPolicyGivesNothingUntilTheNodeIsAdmitted() {
        ConntrackPolicy p = policy("p", 1, 1048576);

        ConntrackNodeStateSpec waiting = build(List.of(p), null, NONE, T0);
        assertThat(waiting.getPolicies()).isEmpty();
        assertThat(waiting.getPolicySnapshots()).isEmpty();

        ConntrackNodeStateSpec admitted = build(List.of(p), null, ALL, T0);
        assertThat(admitted.getPolicies()).containsExactly("p");
        PolicySnapshot snapshot = admitted.getPolicySnapshots().get("p");
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
        assertThat(again.getPolicySnapshots().get("p").getSince()).isEqualTo("2026-03-01T10:05:00Z");
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
    void aSnapshotCarriesEverySettingSoTheStandInForAHeldNodeIsTheOldVersionWhole() {
        ConntrackPolicy p = everySetting(3);
        PolicySnapshot snapshot = RolloutHold.snapshotOf(p, "2026-03-01T10:00:00Z");
        ConntrackPolicy standIn = RolloutHold.policyFrom("p", snapshot);

        assertThat(standIn.getMetadata().getName()).isEqualTo("p");
        assertThat(standIn.getMetadata().getGeneration()).isEqualTo(3L);
        assertThat(standIn.getSpec().getPriority()).isEqualTo(7);
        assertThat(standIn.getSpec().getMode()).isEqualTo(Mode.ObserveOnly);
        assertThat(standIn.getSpec().getDriftPolicy()).isEqualTo(DriftPolicy.Report);
        assertThat(standIn.getSpec().getConntrack().getMax()).isEqualTo(262144);
        assertThat(standIn.getSpec().getMonitoring().getUsageWarningPercent()).isEqualTo(70);
        assertThat(RolloutHold.sameSettings(snapshot, everySetting(4))).as("only the generation differs").isTrue();
    }

    @Test
    void anEditOfAnySettingIsANewVersionForTheRollout() {
        PolicySnapshot snapshot = RolloutHold.snapshotOf(everySetting(1), "2026-03-01T10:00:00Z");
        ConntrackPolicy priority = everySetting(2);
        priority.getSpec().setPriority(8);
        ConntrackPolicy mode = everySetting(2);
        mode.getSpec().setMode(Mode.Enforce);
        ConntrackPolicy drift = everySetting(2);
        drift.getSpec().setDriftPolicy(DriftPolicy.Reapply);
        ConntrackPolicy monitoring = everySetting(2);
        monitoring.getSpec().getMonitoring().setUsageWarningPercent(90);
        ConntrackPolicy max = everySetting(2);
        max.getSpec().getConntrack().setMax(524288);

        for (ConntrackPolicy edited : List.of(priority, mode, drift, monitoring, max)) {
            assertThat(RolloutHold.sameSettings(snapshot, edited)).as(edited.getSpec().toString()).isFalse();
        }
    }

    @Test
    void anObservingNodeKeepsTheTimeItTookAGenerationUntilTheNextOne() {
        ConntrackPolicy audit = audit(1);
        ConntrackNodeStateSpec observing = build(List.of(audit), null, NONE, T0);
        assertThat(observing.getPolicySnapshots().get(PolicyMerger.name(audit)).getSince()).isEqualTo("2026-03-01T10:00:00Z");

        ConntrackNodeStateSpec later = build(List.of(audit), observing, NONE, T1);
        assertThat(later.getPolicySnapshots().get(PolicyMerger.name(audit)).getSince()).isEqualTo("2026-03-01T10:00:00Z");
        ConntrackPolicy edited = audit(2);
        ConntrackNodeStateSpec next = build(List.of(edited), later, NONE, T1);
        assertThat(next.getPolicySnapshots().get(PolicyMerger.name(edited)).getSince()).isEqualTo("2026-03-01T10:05:00Z");
    }

    /** A policy with every setting a snapshot keeps set to something other than its default. */
    private static ConntrackPolicy everySetting(long generation) {
        ConntrackPolicy p = policy("p", generation, 262144);
        p.getSpec().setPriority(7);
        p.getSpec().setMode(Mode.ObserveOnly);
        p.getSpec().setDriftPolicy(DriftPolicy.Report);
        MonitoringSpec monitoring = new MonitoringSpec();
        monitoring.setUsageWarningPercent(70);
        p.getSpec().setMonitoring(monitoring);
        return p;
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

        assertThat(build(List.of(p), null, NONE, T0).getPolicies()).containsExactly("p");
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

    @Test
    void anAuditOfHigherPriorityIsTakenAtOnceTogetherWithEveryPolicyItHoldsBack() {
        ConntrackPolicy baseline = policy("baseline", 1, 262144);
        RolloutHold.Admissions nothingYet = admissions(false, WINDOW);

        RolloutHold.Result observing = RolloutHold.choose(merger, node, List.of(baseline, audit(1)), null, nothingYet, VALID, T0);

        assertThat(observing.recheckAfter()).as("observing waits for nothing").isNull();
        assertThat(observing.spec().getMode()).isEqualTo(Mode.ObserveOnly);
        assertThat(observing.spec().getPolicies()).containsExactly("audit", "baseline");
        assertThat(observing.spec().getConntrack().getMax()).as("what the audit reports Enforce would write").isEqualTo(262144);
        assertThat(observing.spec().getPolicySnapshots().get("baseline").getGeneration()).isEqualTo(1L);
    }

    @Test
    void anEnforcePolicyWaitsForTheSettleWindowEvenWithBatchingOff() {
        ConntrackPolicy baseline = policy("baseline", 1, 262144);
        baseline.getSpec().setRollout(RolloutPlannerTest.rollout("100%"));

        RolloutHold.Result early = RolloutHold.choose(merger, node, List.of(baseline), null, admissions(true, WINDOW), VALID, T0);
        assertThat(early.spec()).as("nothing to write yet").isNull();
        assertThat(early.recheckAfter()).isEqualTo(WINDOW);

        // The audit arrives within the window: the node observes at once.
        RolloutHold.Result withAudit = RolloutHold.choose(merger, node, List.of(baseline, audit(1)), null,
                admissions(true, WINDOW), VALID, T0);
        assertThat(withAudit.spec().getMode()).isEqualTo(Mode.ObserveOnly);

        // Alone and settled, it is taken.
        assertThat(build(List.of(baseline), null, NONE, T1).getMode()).isEqualTo(Mode.Enforce);
    }

    @Test
    void anEditThatWouldBeEnforcedWaitsForTheWindowButAnEditTowardsObservingDoesNot() {
        ConntrackNodeStateSpec enforcing = build(List.of(policy("p", 1, 262144)), null, ALL, T0);
        RolloutHold.Result edit = RolloutHold.choose(merger, node, List.of(policy("p", 2, 524288)), enforcing,
                admissions(true, WINDOW), VALID, T1);
        assertThat(edit.spec()).isSameAs(enforcing);
        assertThat(edit.recheckAfter()).isEqualTo(WINDOW);

        ConntrackPolicy toObserving = policy("p", 2, 524288);
        toObserving.getSpec().setMode(Mode.ObserveOnly);
        RolloutHold.Result observe = RolloutHold.choose(merger, node, List.of(toObserving), enforcing, admissions(false, WINDOW), VALID, T1);
        assertThat(observe.recheckAfter()).isNull();
        assertThat(observe.spec().getMode()).isEqualTo(Mode.ObserveOnly);
        assertThat(observe.spec().getPolicyGenerations()).containsEntry("p", 2L);
    }

    @Test
    void whenTheAuditLeavesTheNodeKeepsObservingUntilEveryPolicyItWouldEnforceAdmittedIt() {
        ConntrackPolicy baseline = policy("baseline", 1, 262144);
        ConntrackNodeStateSpec observing = build(List.of(baseline, audit(1)), null, NONE, T0);
        ConntrackPolicy leaving = audit(2);
        leaving.getMetadata().setDeletionTimestamp("2026-03-01T10:04:00Z");

        ConntrackNodeStateSpec held = build(List.of(baseline, leaving), observing, NONE, T1);
        assertThat(held).as("the spec stays as it is, the audit included").isSameAs(observing);

        ConntrackNodeStateSpec enforcing = build(List.of(baseline, leaving), observing, ALL, T1);
        assertThat(enforcing.getMode()).isEqualTo(Mode.Enforce);
        assertThat(enforcing.getPolicies()).containsExactly("baseline");
        assertThat(enforcing.getPolicySnapshots().get("baseline").getSince()).as("enforced from now")
                .isEqualTo("2026-03-01T10:05:00Z");

        // Admitted, but the audit's deletion is younger than the window: still observing.
        RolloutHold.Result tooSoon = RolloutHold.choose(merger, node, List.of(baseline, leaving), observing,
                admissions(true, WINDOW), VALID, T1);
        assertThat(tooSoon.spec()).isSameAs(observing);
        assertThat(tooSoon.recheckAfter()).isEqualTo(WINDOW);
    }

    @Test
    void anObserveOnlyPolicyUnderAHigherEnforcePolicyIsEnforcedSoItWaitsForItsBatch() {
        ConntrackPolicy enforcer = policy("enforcer", 1, 262144);
        enforcer.getSpec().setPriority(10);
        enforcer.getSpec().setMode(Mode.Enforce); // as the API server defaults it
        ConntrackNodeStateSpec enforcing = build(List.of(enforcer), null, ALL, T0);
        ConntrackPolicy lowObserver = policy("low", 1, 131072);
        lowObserver.getSpec().setMode(Mode.ObserveOnly);
        ConntrackSettings timeWait = lowObserver.getSpec().getConntrack();
        timeWait.setMax(null);
        timeWait.setTcpTimeWait("30s");

        ConntrackNodeStateSpec waiting = build(List.of(enforcer, lowObserver), enforcing, NONE, T1);
        assertThat(waiting.getPolicies()).containsExactly("enforcer");
        ConntrackNodeStateSpec admitted = build(List.of(enforcer, lowObserver), enforcing, ALL, T1);
        assertThat(admitted.getMode()).isEqualTo(Mode.Enforce);
        assertThat(admitted.getConntrack().getTcpTimeWait()).isEqualTo("30s");
    }

    @Test
    void aPolicyWhoseNewValuesAreInvalidKeepsTheNodeOnWhatItHadAndTheOthersStillArrive() {
        ConntrackPolicy p = policy("p", 1, 262144);
        ConntrackNodeStateSpec built = build(List.of(p), null, ALL, T0);
        ConntrackPolicy broken = policy("p", 2, 0); // max 0: slipped past the schema
        ConntrackPolicy other = policy("other", 1, 131072);
        other.getSpec().getConntrack().setMax(null);
        other.getSpec().getConntrack().setTcpTimeWait("30s");
        RolloutHold.Validity validity = q -> PolicyValidator.problems(q.getSpec()).isEmpty();

        ConntrackNodeStateSpec next = RolloutHold.choose(merger, node, List.of(broken, other), built, ALL, validity, T1).spec();

        assertThat(next.getConntrack().getMax()).as("the last valid version").isEqualTo(262144);
        assertThat(next.getPolicyGenerations()).containsEntry("p", 1L).containsEntry("other", 1L);
        assertThat(next.getConntrack().getTcpTimeWait()).isEqualTo("30s");
        // A node that never had it gets nothing of it, and the rest.
        ConntrackNodeStateSpec fresh = RolloutHold.choose(merger, node, List.of(broken, other), null, ALL, validity, T1).spec();
        assertThat(fresh.getPolicies()).containsExactly("other");
    }

    private ConntrackNodeStateSpec build(List<ConntrackPolicy> policies, ConntrackNodeStateSpec existing,
            RolloutHold.Admissions admissions, Instant now) {
        RolloutHold.Result chosen = RolloutHold.choose(merger, node, policies, existing, admissions, VALID, now);
        assertThat(chosen.recheckAfter()).as("not held by the settle window").isNull();
        return chosen.spec();
    }

    private static RolloutHold.Admissions admissions(boolean admitted, Duration unsettled) {
        return new RolloutHold.Admissions() {
            @Override
            public boolean mayAdvance(String policy, long generation, String node) {
                return admitted;
            }

            @Override
            public Duration unsettled(ConntrackPolicy policy) {
                return unsettled;
            }
        };
    }

    static ConntrackPolicy audit(long generation) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName("audit");
        p.getMetadata().setGeneration(generation);
        p.getSpec().setPriority(1000);
        p.getSpec().setMode(Mode.ObserveOnly);
        return p;
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
