package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.RolloutSpec;
import dev.conntrack.api.RolloutStatus;
import io.fabric8.kubernetes.api.model.IntOrString;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RolloutPlannerTest {
    private static final Instant BEFORE = Instant.parse("2026-03-01T09:00:00Z");
    private static final Instant TOOK = Instant.parse("2026-03-01T10:00:00Z");
    private static final Instant LATER = Instant.parse("2026-03-01T10:01:00Z");
    private static final Instant NOW = Instant.parse("2026-03-01T10:02:00Z");

    private final RolloutPlanner planner = new RolloutPlanner();

    @Test
    void percentOfSelectedNodesRoundsUpAndIsAtLeastOne() {
        assertThat(RolloutPlanner.maxUnavailable(rollout("10%"), 5000)).isEqualTo(500);
        assertThat(RolloutPlanner.maxUnavailable(rollout("10%"), 95)).isEqualTo(10);
        assertThat(RolloutPlanner.maxUnavailable(rollout("10%"), 91)).isEqualTo(10);
        assertThat(RolloutPlanner.maxUnavailable(rollout("10%"), 90)).isEqualTo(9);
        assertThat(RolloutPlanner.maxUnavailable(rollout("10%"), 3)).isEqualTo(1);
        assertThat(RolloutPlanner.maxUnavailable(rollout("1%"), 0)).isEqualTo(1);
        assertThat(RolloutPlanner.maxUnavailable(rollout("1%"), 200)).isEqualTo(2);
        // What the CRD's rule refuses falls back to the default 10% rather than stopping the rollout.
        assertThat(RolloutPlanner.maxUnavailable(rollout("0%"), 200)).isEqualTo(20);
        assertThat(RolloutPlanner.maxUnavailable(rollout("101%"), 200)).isEqualTo(20);
        assertThat(RolloutPlanner.maxUnavailable(rollout("lots"), 200)).isEqualTo(20);
        assertThat(RolloutPlanner.maxUnavailable(rollout("100%"), 200)).isEqualTo(200);
        assertThat(RolloutPlanner.maxUnavailable(rollout(7), 200)).isEqualTo(7);
        // Absent: the schema default, 10%.
        assertThat(RolloutPlanner.maxUnavailable(null, 200)).isEqualTo(20);
        assertThat(RolloutPlanner.unbatched(rollout("100%"))).isTrue();
        assertThat(RolloutPlanner.unbatched(rollout("99%"))).isFalse();
        assertThat(RolloutPlanner.unbatched(rollout(1000))).isFalse();
        assertThat(RolloutPlanner.unbatched(null)).isFalse();
    }

    @Test
    void firstTimeRolloutAdmitsOneBatchByName() {
        List<RolloutPlanner.NodeView> nodes = new ArrayList<>();
        for (int i = 19; i >= 0; i--) {
            nodes.add(RolloutPlanner.NodeView.withoutState(String.format("n%02d", i), false));
        }
        RolloutPlanner.Plan plan = planner.plan(policy(1, rollout("10%")), nodes, Set.of(), NOW, Duration.ZERO);

        assertThat(plan.admit()).containsExactly("n00", "n01");
        assertThat(plan.status().getMaxUnavailable()).isEqualTo(2);
        assertThat(plan.status().getInFlightNodes()).isEqualTo(2);
        assertThat(plan.status().getPendingNodes()).isEqualTo(18);
        assertThat(plan.status().getUpdatedNodes()).isZero();
        assertThat(plan.status().isPaused()).isFalse();
    }

    @Test
    void inFlightNodesUseUpTheBudgetAndFinishedOnesFreeIt() {
        List<RolloutPlanner.NodeView> nodes = List.of(
                done("a", 2), inFlight("b", 2), failed("c", 2),
                atOld("d", 1), atOld("e", 1), atOld("f", 1), atOld("g", 1));
        ConntrackPolicy policy = policy(2, rollout(2), false);

        RolloutPlanner.Plan plan = planner.plan(policy, nodes, Set.of(), NOW, Duration.ZERO);

        // b is in flight; a (applied) and c (reported Degraded) are finished: one more fits.
        assertThat(plan.admit()).containsExactly("d");
        assertThat(plan.status().getUpdatedNodes()).isEqualTo(1);
        assertThat(plan.status().getFailedNodes()).isEqualTo(1);
        assertThat(plan.status().getInFlightNodes()).isEqualTo(2);
        assertThat(plan.status().getPendingNodes()).isEqualTo(3);
    }

    @Test
    void admittedNodesTheCacheDoesNotShowYetCountAsInFlight() {
        List<RolloutPlanner.NodeView> nodes = List.of(atOld("a", 1), atOld("b", 1), atOld("c", 1), atOld("d", 1));

        RolloutPlanner.Plan plan = planner.plan(policy(2, rollout(2)), nodes, Set.of("a", "b"), NOW, Duration.ZERO);

        assertThat(plan.admit()).isEmpty();
        assertThat(plan.status().getInFlightNodes()).isEqualTo(2);
        assertThat(plan.status().getPendingNodes()).isEqualTo(2);
    }

    @Test
    void aNodeThatTurnsDegradedAfterTakingTheGenerationPausesWithItsName() {
        List<RolloutPlanner.NodeView> nodes = List.of(done("a", 2), degradedSince("b", 2, LATER), atOld("c", 1), atOld("d", 1));

        RolloutPlanner.Plan plan = planner.plan(policy(2, rollout(3)), nodes, Set.of(), NOW, Duration.ZERO);

        assertThat(plan.admit()).isEmpty();
        assertThat(plan.status().isPaused()).isTrue();
        assertThat(plan.status().getPausedNodes()).containsExactly("b");
        assertThat(plan.status().getPausedAt()).isEqualTo("2026-03-01T10:02:00Z");
        assertThat(plan.status().getPendingNodes()).isEqualTo(2);
    }

    @Test
    void droppingAfterTheChangePausesButDroppingAlreadyBeforeItDoesNot() {
        RolloutPlanner.NodeView startedDropping = new RolloutPlanner.NodeView("a", 2L, TOOK, true, true, false, null, true, LATER, false, false);
        RolloutPlanner.NodeView droppedAllAlong = new RolloutPlanner.NodeView("b", 2L, TOOK, true, true, false, null, true, BEFORE, false, false);

        assertThat(planner.plan(policy(2, rollout(1)), List.of(startedDropping, atOld("c", 1)), Set.of(), NOW, Duration.ZERO)
                .status().isPaused()).isTrue();
        RolloutPlanner.Plan plan = planner.plan(policy(2, rollout(1)), List.of(droppingOld(), droppedAllAlong, atOld("c", 1)), Set.of(), NOW, Duration.ZERO);
        assertThat(plan.status().isPaused()).isFalse();
        assertThat(plan.admit()).containsExactly("c");
    }

    @Test
    void troubleOnANodeStillOnTheOldGenerationDoesNotPause() {
        RolloutPlanner.NodeView oldAndDropping = new RolloutPlanner.NodeView("a", 1L, BEFORE, true, true, true, LATER, true, LATER, false, false);

        RolloutPlanner.Plan plan = planner.plan(policy(2, rollout(1)), List.of(oldAndDropping, atOld("b", 1)), Set.of(), NOW, Duration.ZERO);

        assertThat(plan.status().isPaused()).isFalse();
        assertThat(plan.admit()).containsExactly("a");
    }

    @Test
    void withoutPauseOnDegradedADegradedNodeIsFailedAndTheRolloutGoesOn() {
        List<RolloutPlanner.NodeView> nodes = List.of(degradedSince("a", 2, LATER), atOld("b", 1));

        RolloutPlanner.Plan plan = planner.plan(policy(2, rollout(1), false), nodes, Set.of(), NOW, Duration.ZERO);

        assertThat(plan.status().isPaused()).isFalse();
        assertThat(plan.status().getFailedNodes()).isEqualTo(1);
        assertThat(plan.admit()).containsExactly("b");
    }

    @Test
    void aPauseSticksWhenTheTroubleClearsUntilTheResumeAnnotationChanges() {
        List<RolloutPlanner.NodeView> recovered = List.of(done("a", 2), done("b", 2), atOld("c", 1));
        ConntrackPolicy policy = policy(2, rollout(1));
        policy.setStatus(statusWith(pausedAt(2, "2026-03-01T10:01:30Z", "b")));

        RolloutPlanner.Plan stillPaused = planner.plan(policy, recovered, Set.of(), NOW, Duration.ZERO);
        assertThat(stillPaused.admit()).isEmpty();
        assertThat(stillPaused.status().isPaused()).isTrue();
        assertThat(stillPaused.status().getPausedNodes()).containsExactly("b");
        assertThat(stillPaused.status().getPausedAt()).isEqualTo("2026-03-01T10:01:30Z");

        policy.getMetadata().setAnnotations(Map.of(RolloutPlanner.RESUME_ANNOTATION, "1"));
        RolloutPlanner.Plan resumed = planner.plan(policy, recovered, Set.of(), NOW, Duration.ZERO);
        assertThat(resumed.status().isPaused()).isFalse();
        assertThat(resumed.status().getResumedWith()).isEqualTo("1");
        assertThat(resumed.status().getResumedAt()).isEqualTo("2026-03-01T10:02:00Z");
        assertThat(resumed.admit()).containsExactly("c");
    }

    @Test
    void resumingAcknowledgesTroubleThatBeganBeforeButNotAfter() {
        ConntrackPolicy policy = policy(2, rollout(1));
        policy.getMetadata().setAnnotations(Map.of(RolloutPlanner.RESUME_ANNOTATION, "go"));
        policy.setStatus(statusWith(pausedAt(2, "2026-03-01T10:01:30Z", "b")));
        List<RolloutPlanner.NodeView> stillDegraded = List.of(degradedSince("b", 2, LATER), atOld("c", 1));

        RolloutPlanner.Plan resumed = planner.plan(policy, stillDegraded, Set.of(), NOW, Duration.ZERO);
        assertThat(resumed.status().isPaused()).isFalse();
        assertThat(resumed.admit()).containsExactly("c");

        // The same annotation value a minute later: still resumed; a node degrading now pauses again.
        policy.setStatus(statusWith(resumed.status()));
        Instant later = NOW.plusSeconds(60);
        List<RolloutPlanner.NodeView> another = List.of(degradedSince("b", 2, LATER), degradedSince("c", 2, later), atOld("d", 1));
        RolloutPlanner.Plan again = planner.plan(policy, another, Set.of(), later, Duration.ZERO);
        assertThat(again.status().isPaused()).isTrue();
        assertThat(again.status().getPausedNodes()).containsExactly("c");
        assertThat(again.admit()).isEmpty();
    }

    @Test
    void aNewGenerationStartsAFreshRolloutEvenWhenTheLastOneWasPaused() {
        // The revert: generation 3 after a paused generation 2. Nodes on 2 and on 1 are both pending.
        ConntrackPolicy policy = policy(3, rollout(2));
        policy.setStatus(statusWith(pausedAt(2, "2026-03-01T10:01:30Z", "b")));
        List<RolloutPlanner.NodeView> nodes = List.of(done("a", 2), degradedSince("b", 2, LATER), atOld("c", 1), atOld("d", 1));

        RolloutPlanner.Plan plan = planner.plan(policy, nodes, Set.of(), NOW, Duration.ZERO);

        assertThat(plan.status().isPaused()).isFalse();
        assertThat(plan.status().getGeneration()).isEqualTo(3L);
        assertThat(plan.admit()).containsExactly("a", "b");
        assertThat(plan.status().getPendingNodes()).isEqualTo(2);
    }

    @Test
    void nodesAddedMidRolloutJoinThePendingOnesAndRemovedOnesStopCounting() {
        List<RolloutPlanner.NodeView> nodes = new ArrayList<>(List.of(inFlight("a", 2), inFlight("b", 2), atOld("c", 1)));
        ConntrackPolicy policy = policy(2, rollout("50%"));
        assertThat(planner.plan(policy, nodes, Set.of(), NOW, Duration.ZERO).admit()).isEmpty(); // 50% of 3 = 2, both busy

        nodes.add(RolloutPlanner.NodeView.withoutState("new-1", false));
        // 50% of 4 = 2: still full.
        assertThat(planner.plan(policy, nodes, Set.of(), NOW, Duration.ZERO).admit()).isEmpty();

        nodes.remove(1); // b left the cluster (or the selector) while in flight
        RolloutPlanner.Plan plan = planner.plan(policy, nodes, Set.of(), NOW, Duration.ZERO);
        assertThat(plan.admit()).containsExactly("c");
        assertThat(plan.status().getPendingNodes()).isEqualTo(1);
    }

    @Test
    void withBatchingOffTheNodeReconcilerAdvancesEveryNodeByItself() {
        List<RolloutPlanner.NodeView> nodes = List.of(done("a", 1), atOld("b", 1), atOld("c", 1));

        RolloutPlanner.Plan plan = planner.plan(policy(2, rollout("100%")), nodes, Set.of(), NOW, Duration.ZERO);

        assertThat(plan.admit()).isEmpty();
        assertThat(plan.status().getMaxUnavailable()).isEqualTo(3);
        assertThat(plan.status().getInFlightNodes()).isEqualTo(3);
        assertThat(plan.status().getPendingNodes()).isZero();
    }

    @Test
    void nothingPendingMeansNothingToAdmit() {
        RolloutPlanner.Plan plan = planner.plan(policy(4, null), List.of(done("a", 4), done("b", 4)), Set.of(), NOW, Duration.ZERO);
        assertThat(plan.admit()).isEmpty();
        assertThat(plan.status().getUpdatedNodes()).isEqualTo(2);
        assertThat(plan.status().getPendingNodes() + plan.status().getInFlightNodes()).isZero();
    }

    @Test
    void nodesAnAuditKeepsObservingAreHeldAndWhenItLeavesTheyGoInBatches() {
        List<RolloutPlanner.NodeView> observed = new ArrayList<>();
        List<RolloutPlanner.NodeView> released = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String name = String.format("n%02d", i);
            // Carries generation 1 (taken at once under the audit) and reported Applied (observing).
            observed.add(new RolloutPlanner.NodeView(name, 1L, TOOK, true, true, false, null, false, null, true, true));
            released.add(new RolloutPlanner.NodeView(name, 1L, TOOK, true, true, false, null, false, null, true, false));
        }

        RolloutPlanner.Plan held = planner.plan(policy(1, rollout(2)), observed, Set.of(), NOW, Duration.ZERO);
        assertThat(held.admit()).isEmpty();
        assertThat(held.status().getHeldNodes()).isEqualTo(10);
        assertThat(held.status().getUpdatedNodes() + held.status().getInFlightNodes() + held.status().getPendingNodes()).isZero();

        // The audit is gone: observing nodes that would enforce are pending like any other.
        RolloutPlanner.Plan batch = planner.plan(policy(1, rollout(2)), released, Set.of(), NOW, Duration.ZERO);
        assertThat(batch.admit()).containsExactly("n00", "n01");
        assertThat(batch.status().getHeldNodes()).isZero();
        assertThat(batch.status().getPendingNodes()).isEqualTo(8);
    }

    @Test
    void anObserveOnlyPolicyIsTakenAtOnceWhereTheNodesObserveAndCountsNoHeldNodes() {
        ConntrackPolicy audit = policy(1, rollout(1));
        audit.getSpec().setMode(dev.conntrack.api.Mode.ObserveOnly);
        List<RolloutPlanner.NodeView> nodes = List.of(RolloutPlanner.NodeView.withoutState("a", true), RolloutPlanner.NodeView.withoutState("b", true), done("c", 1));

        RolloutPlanner.Plan plan = planner.plan(audit, nodes, Set.of(), NOW, Duration.ZERO);

        assertThat(plan.admit()).as("nothing to admit: observing writes nothing").isEmpty();
        assertThat(plan.status().getHeldNodes()).isZero();
        assertThat(plan.status().getInFlightNodes()).isEqualTo(2);
        assertThat(plan.status().getPendingNodes()).isZero();
    }

    @Test
    void nothingIsAdmittedWhileTheSettleWindowRuns() {
        List<RolloutPlanner.NodeView> nodes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            nodes.add(RolloutPlanner.NodeView.withoutState(String.format("n%02d", i), false));
        }
        RolloutPlanner.Plan settling = planner.plan(policy(1, rollout("10%")), nodes, Set.of(), NOW, Duration.ofSeconds(2));
        assertThat(settling.admit()).isEmpty();
        assertThat(settling.status().getPendingNodes()).isEqualTo(20);

        assertThat(planner.plan(policy(1, rollout("10%")), nodes, Set.of(), NOW, Duration.ZERO).admit()).hasSize(2);
    }

    private static RolloutPlanner.NodeView done(String name, long generation) {
        return new RolloutPlanner.NodeView(name, generation, TOOK, true, true, false, null, false, null, false, false);
    }

    private static RolloutPlanner.NodeView inFlight(String name, long generation) {
        return new RolloutPlanner.NodeView(name, generation, TOOK, false, false, false, null, false, null, false, false);
    }

    private static RolloutPlanner.NodeView failed(String name, long generation) {
        // Degraded since before it took the generation: finished (failed), but no reason to pause.
        return new RolloutPlanner.NodeView(name, generation, TOOK, true, false, true, BEFORE, false, null, false, false);
    }

    private static RolloutPlanner.NodeView degradedSince(String name, long generation, Instant since) {
        return new RolloutPlanner.NodeView(name, generation, TOOK, true, false, true, since, false, null, false, false);
    }

    private static RolloutPlanner.NodeView atOld(String name, long generation) {
        return new RolloutPlanner.NodeView(name, generation, BEFORE, true, true, false, null, false, null, false, false);
    }

    private static RolloutPlanner.NodeView droppingOld() {
        return new RolloutPlanner.NodeView("z-old", 1L, BEFORE, true, true, false, null, true, LATER, false, false);
    }

    private static RolloutStatus pausedAt(long generation, String at, String... names) {
        RolloutStatus s = new RolloutStatus();
        s.setGeneration(generation);
        s.setPaused(true);
        s.setPausedAt(at);
        s.setPausedNodes(List.of(names));
        return s;
    }

    private static ConntrackPolicyStatus statusWith(RolloutStatus rollout) {
        ConntrackPolicyStatus status = new ConntrackPolicyStatus();
        status.setRollout(rollout);
        return status;
    }

    static RolloutSpec rollout(String maxUnavailable) {
        RolloutSpec r = new RolloutSpec();
        r.setMaxUnavailable(new IntOrString(maxUnavailable));
        return r;
    }

    static RolloutSpec rollout(int maxUnavailable) {
        RolloutSpec r = new RolloutSpec();
        r.setMaxUnavailable(new IntOrString(maxUnavailable));
        return r;
    }

    private static ConntrackPolicy policy(long generation, RolloutSpec rollout) {
        return policy(generation, rollout, true);
    }

    private static ConntrackPolicy policy(long generation, RolloutSpec rollout, boolean pauseOnDegraded) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName("p");
        p.getMetadata().setGeneration(generation);
        RolloutSpec r = rollout == null ? new RolloutSpec() : rollout;
        r.setPauseOnDegraded(pauseOnDegraded);
        p.getSpec().setRollout(rollout == null ? null : r);
        return p;
    }

    @Test
    void aNodeViewReadsTheGenerationItsSpecCarriesAndNothingWithoutASpec() {
        dev.conntrack.api.ConntrackNodeState state = new dev.conntrack.api.ConntrackNodeState();
        state.getMetadata().setName("a");
        state.setSpec(new dev.conntrack.api.ConntrackNodeStateSpec());
        state.getSpec().setPolicyGenerations(Map.of("p", 2L));
        assertThat(RolloutPlanner.NodeView.of(state, "p", false).specGeneration()).isEqualTo(2L);

        state.setSpec(null);
        RolloutPlanner.NodeView bare = RolloutPlanner.NodeView.of(state, "p", false);
        assertThat(bare.specGeneration()).isNull();
        assertThat(bare.observing()).isFalse();
    }
}
