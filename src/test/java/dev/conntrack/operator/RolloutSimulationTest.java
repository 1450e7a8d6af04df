package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.RolloutStatus;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.Mode;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The whole rollout loop in memory (planner, gate, hold, merger, aggregator) over 100 simulated nodes. */
class RolloutSimulationTest {

    @Test
    void aFirstTimePolicyRollsOutInBatchesNeverMoreThanMaxUnavailableInFlight() {
        InMemoryFleet fleet = new InMemoryFleet(100);
        fleet.apply(RolloutHoldTest.policy("p", 0, 262144));
        // No admission yet: no node has anything of the policy.
        assertThat(fleet.carrying(1)).isZero();

        int steps = runUntilDone(fleet, 1);

        assertThat(fleet.maxInFlightSeen).isEqualTo(10);
        // Ten batches of ten, plus the roll-up that sees the last batch's reports.
        assertThat(steps).isEqualTo(11);
        assertThat(fleet.policy.getStatus().getNodes().getApplied()).isEqualTo(100);
        assertThat(Conditions.find(fleet.policy.getStatus().getConditions(), "Ready").getStatus()).isEqualTo("True");
    }

    @Test
    void anEditRollsOutInBatchesAndARevertRollsTheUpdatedNodesBackTheSameWay() {
        InMemoryFleet fleet = new InMemoryFleet(100);
        ConntrackPolicy first = RolloutHoldTest.policy("p", 0, 262144);
        first.getSpec().setRollout(RolloutPlannerTest.rollout("25%"));
        fleet.apply(first);
        runUntilDone(fleet, 1);

        ConntrackPolicy raised = RolloutHoldTest.policy("p", 0, 1048576);
        raised.getSpec().setRollout(RolloutPlannerTest.rollout("25%"));
        fleet.apply(raised);
        fleet.maxInFlightSeen = 0;
        fleet.step();
        fleet.step();
        // Half way: 50 nodes on generation 2, 50 still held on generation 1's settings.
        assertThat(fleet.carrying(2)).isEqualTo(50);
        assertThat(fleet.max("node-0000")).isEqualTo(1048576);
        assertThat(fleet.max("node-0099")).isEqualTo(262144);

        ConntrackPolicy reverted = RolloutHoldTest.policy("p", 0, 262144);
        reverted.getSpec().setRollout(RolloutPlannerTest.rollout("25%"));
        fleet.apply(reverted);
        // The 50 held nodes already have generation 3's settings: they take it without a batch.
        assertThat(fleet.carrying(3)).isEqualTo(50);
        assertThat(fleet.max("node-0000")).as("an updated node waits for its batch").isEqualTo(1048576);

        runUntilDone(fleet, 3);
        assertThat(fleet.maxInFlightSeen).isLessThanOrEqualTo(50 + 25);
        assertThat(fleet.max("node-0000")).isEqualTo(262144);
        assertThat(fleet.policy.getStatus().getRollout().getUpdatedNodes()).isEqualTo(100);
    }

    @Test
    void aNodeTurningDegradedPausesUntilResumedAndTheStatusNamesIt() {
        InMemoryFleet fleet = new InMemoryFleet(40);
        fleet.apply(RolloutHoldTest.policy("p", 0, 262144));
        runUntilDone(fleet, 1);

        fleet.apply(RolloutHoldTest.policy("p", 0, 2000000));
        fleet.degradedAgents.add("node-0001"); // this node refuses the new max
        fleet.step();
        fleet.step();
        RolloutStatus rollout = fleet.policy.getStatus().getRollout();
        assertThat(rollout.isPaused()).isTrue();
        assertThat(rollout.getPausedNodes()).containsExactly("node-0001");
        var progressing = Conditions.find(fleet.policy.getStatus().getConditions(), "Progressing");
        assertThat(progressing.getStatus()).isEqualTo("False");
        assertThat(progressing.getReason()).isEqualTo("RolloutPaused");
        assertThat(progressing.getMessage()).contains("node-0001").contains(RolloutPlanner.RESUME_ANNOTATION);

        int carrying = fleet.carrying(2);
        for (int i = 0; i < 5; i++) {
            fleet.step();
        }
        assertThat(fleet.carrying(2)).as("paused: nobody else takes it").isEqualTo(carrying);

        fleet.policy.getMetadata().setAnnotations(Map.of(RolloutPlanner.RESUME_ANNOTATION, "ok"));
        runUntilDone(fleet, 2);
        assertThat(fleet.carrying(2)).isEqualTo(40);
        assertThat(fleet.policy.getStatus().getRollout().getFailedNodes()).isEqualTo(1);
        assertThat(fleet.policy.getStatus().getRollout().isPaused()).isFalse();
    }

    @Test
    void nodesJoiningMidRolloutWaitForABatchLikeTheOthers() {
        InMemoryFleet fleet = new InMemoryFleet(20);
        fleet.apply(RolloutHoldTest.policy("p", 0, 262144));
        fleet.step();
        fleet.addNode("node-late");
        fleet.removeNode("node-0019");
        assertThat(fleet.max("node-late")).isNull();

        runUntilDone(fleet, 1);

        assertThat(fleet.max("node-late")).isEqualTo(262144);
        assertThat(fleet.maxInFlightSeen).isEqualTo(2);
        assertThat(fleet.policy.getStatus().getNodes().getSelected()).isEqualTo(20);
    }

    @Test
    void anAuditAppliedTogetherWithAnEnforcePolicyInAnyOrderKeepsEveryKernelUntouchedAndItsDeletionGoesInBatches() {
        for (int variant = 0; variant < 8; variant++) {
            boolean auditFirst = variant % 2 == 0;
            boolean restart = variant % 4 >= 2;
            String maxUnavailable = variant < 4 ? "10%" : "100%";
            int batch = variant < 4 ? 10 : 100;
            String label = (auditFirst ? "audit first" : "baseline first") + (restart ? ", operator restarted" : "")
                    + ", maxUnavailable " + maxUnavailable;
            InMemoryFleet fleet = new InMemoryFleet(100, Duration.ofSeconds(2));
            ConntrackPolicy baseline = RolloutHoldTest.policy("baseline", 0, 262144);
            baseline.getSpec().setMode(Mode.Enforce);
            baseline.getSpec().setRollout(RolloutPlannerTest.rollout(maxUnavailable));
            ConntrackPolicy audit = RolloutHoldTest.audit(1);
            audit.getSpec().setRollout(RolloutPlannerTest.rollout(maxUnavailable));

            // One kubectl apply: the second object is seen 60 ms after the first.
            fleet.apply(auditFirst ? audit : baseline);
            fleet.advance(Duration.ofMillis(60));
            if (restart) {
                fleet.restartOperator();
            }
            fleet.apply(auditFirst ? baseline : audit);
            for (int i = 0; i < 30; i++) {
                fleet.step();
            }

            assertThat(fleet.everEnforced).as(label + ": nodes whose agent enforced").isEmpty();
            assertThat(fleet.states.values()).as(label).allSatisfy(s -> {
                assertThat(s.getSpec().getMode()).isEqualTo(Mode.ObserveOnly);
                assertThat(s.getSpec().getPolicies()).containsExactly("audit", "baseline");
            });
            ConntrackPolicyStatus held = fleet.policy("baseline").getStatus();
            assertThat(held.getNodes().getHeldByObserveOnly()).as(label).isEqualTo(100);
            assertThat(held.getNodes().getApplied()).isZero();
            assertThat(Conditions.find(held.getConditions(), "Ready").getReason()).isEqualTo("HeldByObserveOnly");
            assertThat(held.getRollout().getHeldNodes()).isEqualTo(100);
            assertThat(Conditions.find(fleet.policy("audit").getStatus().getConditions(), "Ready").getStatus()).isEqualTo("True");

            // The audit leaves: enforcing goes in the baseline's batches, never more than one batch at a time.
            fleet.delete("audit");
            int steps = 0;
            int enforcing = 0;
            while (fleet.enforcing("baseline") < 100) {
                assertThat(++steps).as(label + ": steps to enforce everywhere").isLessThan(60);
                fleet.step();
                int now = fleet.enforcing("baseline");
                assertThat(now - enforcing).as(label + ": nodes that started enforcing in one step").isLessThanOrEqualTo(batch);
                enforcing = now;
            }
            assertThat(steps).as(label).isGreaterThanOrEqualTo(100 / batch);
            assertThat(fleet.enforcedUnderAnAudit).as(label).isEmpty();
            fleet.step();
            assertThat(fleet.policies).as(label + ": the audit's finalizer went").doesNotContainKey("audit");
            assertThat(Conditions.find(fleet.policy("baseline").getStatus().getConditions(), "Ready").getStatus())
                    .as(label).isEqualTo("True");
        }
    }

    @Test
    void anAuditCreatedLongAfterTheEnforcePolicyStopsFurtherWritesAtOnce() {
        InMemoryFleet fleet = new InMemoryFleet(100, Duration.ofSeconds(2));
        ConntrackPolicy baseline = RolloutHoldTest.policy("baseline", 0, 262144);
        baseline.getSpec().setMode(Mode.Enforce);
        fleet.apply(baseline);
        for (int i = 0; i < 5; i++) {
            fleet.step();
        }
        int enforcedBefore = fleet.everEnforced.size();
        assertThat(enforcedBefore).as("part of the first rollout is done").isBetween(10, 90);

        fleet.apply(RolloutHoldTest.audit(1));
        // Without a single step: the node reconciler moved every node to observing.
        assertThat(fleet.enforcing("baseline")).isZero();
        for (int i = 0; i < 20; i++) {
            fleet.step();
        }
        assertThat(fleet.everEnforced).hasSize(enforcedBefore);
    }

    /** Steps until every node carries and reported the generation; returns the number of steps. */
    private static int runUntilDone(InMemoryFleet fleet, long generation) {
        for (int step = 1; step <= 200; step++) {
            fleet.step();
            RolloutStatus r = fleet.policy.getStatus().getRollout();
            if (fleet.carrying(generation) == fleet.nodes.size() && fleet.inFlight() == 0
                    && r.getPendingNodes() == 0 && r.getInFlightNodes() == 0) {
                return step;
            }
        }
        throw new AssertionError("rollout of generation " + generation + " did not finish: " + fleet.policy.getStatus().getRollout());
    }
}
