package dev.conntrack.operator;

import static dev.conntrack.operator.PolicyStatusAggregator.CONFLICT;
import static dev.conntrack.operator.PolicyStatusAggregator.DEGRADED;
import static dev.conntrack.operator.PolicyStatusAggregator.PROGRESSING;
import static dev.conntrack.operator.PolicyStatusAggregator.READY;
import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConflictNote;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.DropCounters;
import dev.conntrack.api.NodeSummary;
import dev.conntrack.api.TableUsage;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyStatusAggregatorTest {

    private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
    private static final Instant T1 = Instant.parse("2026-03-01T10:05:00Z");

    private final PolicyStatusAggregator aggregator = new PolicyStatusAggregator();

    @Test
    void countsEachStateCombination() {
        List<ConntrackNodeState> states = List.of(
                applied("ok"),
                state("pending", 3, 2, "Applied"),                     // generation lags
                state("not-yet", 1, null),                              // agent has not written yet
                state("refused", 2, 2, "Degraded"),                     // applied nothing, failed
                state("pressure", 2, 2, "Applied", "Pressure"),
                state("full", 2, 2, "Applied", "Pressure", "TableFull"),
                state("full-and-degraded", 2, 2, "Applied", "Degraded", "TableFull"));

        ConntrackPolicyStatus status = aggregate(policy("p", 4), states, T0);

        assertThat(status.getNodes().getSelected()).isEqualTo(7);
        assertThat(status.getNodes().getApplied()).isEqualTo(4);
        assertThat(status.getNodes().getFailed()).isEqualTo(2);
        assertThat(status.getNodes().getUnderPressure()).isEqualTo(2);
        assertThat(status.getNodes().getDropping()).isEqualTo(2);
        assertThat(status.getObservedGeneration()).isEqualTo(4L);
        assertThat(status.getConditions()).allSatisfy(c -> assertThat(c.getObservedGeneration()).isEqualTo(4L));
    }

    @Test
    void aNodeThatLagsItsGenerationIsNotApplied() {
        ConntrackNodeState lagging = state("n1", 5, 4, "Applied");

        ConntrackPolicyStatus status = aggregate(policy("p", 2), List.of(lagging), T0);

        assertThat(status.getNodes().getApplied()).isZero();
        assertThat(status.getWorstNodes()).singleElement().satisfies(n -> {
            assertThat(n.getName()).isEqualTo("n1");
            assertThat(n.getReason()).isEqualTo("NotApplied");
        });
        assertThat(Conditions.find(status.getConditions(), READY).getReason()).isEqualTo("NodesPending");
        assertThat(Conditions.find(status.getConditions(), PROGRESSING).getReason()).isEqualTo("ApplyingSettings");
    }

    @Test
    void worstNodesAreDroppingThenPressureThenDegradedThenPendingAndAtMostFive() {
        List<ConntrackNodeState> states = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            states.add(applied(String.format("fine-%02d", i)));
        }
        states.add(state("pending", 2, 1, "Applied"));
        states.add(state("degraded", 2, 2, "Degraded"));
        states.add(withUsage(state("pressure-70", 2, 2, "Applied", "Pressure"), 70.0, 0.0));
        states.add(withUsage(state("pressure-95", 2, 2, "Applied", "Pressure"), 95.0, 0.0));
        states.add(withUsage(state("drop-slow", 2, 2, "Applied", "TableFull"), 100.0, 3.0));
        states.add(withUsage(state("drop-fast", 2, 2, "Applied", "Pressure", "TableFull"), 100.0, 250.0));
        states.add(withUsage(state("drop-mid", 2, 2, "Applied", "TableFull"), 99.0, 40.0));
        for (int i = 0; i < 3; i++) {
            states.add(state("pending-" + i, 2, 1));
        }
        assertThat(states).hasSize(50);

        ConntrackPolicyStatus status = aggregate(policy("p", 1), states, T0);

        assertThat(status.getWorstNodes()).extracting(NodeSummary::getName)
                .containsExactly("drop-fast", "drop-mid", "drop-slow", "pressure-95", "pressure-70");
        assertThat(status.getWorstNodes()).extracting(NodeSummary::getReason)
                .containsExactly("TableFull", "TableFull", "TableFull", "Pressure", "Pressure");
        NodeSummary fast = status.getWorstNodes().get(0);
        assertThat(fast.getDropsPerSecond()).isEqualTo(250.0);
        assertThat(fast.getUsagePercent()).isEqualTo(100.0);
        assertThat(fast.getEntries()).isEqualTo(131072L);
        assertThat(fast.getMax()).isEqualTo(131072L);
        assertThat(fast.getDrops()).isEqualTo(2500L);

        // Without the droppers, degraded comes before the pending nodes (by name).
        List<ConntrackNodeState> calmer = states.stream()
                .filter(s -> !s.getMetadata().getName().startsWith("drop")).toList();
        assertThat(aggregate(policy("p", 1), calmer, T0).getWorstNodes()).extracting(NodeSummary::getName)
                .containsExactly("pressure-95", "pressure-70", "degraded", "pending", "pending-0");
    }

    @Test
    void fineNodesAreNotListed() {
        ConntrackPolicyStatus status = aggregate(policy("p", 1), List.of(applied("a"), applied("b")), T0);
        assertThat(status.getWorstNodes()).isEmpty();
    }

    @Test
    void allAppliedIsReadyAndComplete() {
        ConntrackPolicyStatus status = aggregate(policy("p", 3), List.of(applied("a"), applied("b")), T0);

        assertCondition(status, READY, "True", "AllNodesApplied");
        assertCondition(status, PROGRESSING, "False", "Complete");
        assertCondition(status, DEGRADED, "False", "Healthy");
        assertCondition(status, CONFLICT, "False", "NoConflict");
        assertCondition(status, PolicyStatusAggregator.RECONCILING, "False", "Complete");
        assertCondition(status, PolicyStatusAggregator.STALLED, "False", PolicyStatusAggregator.REASON_NOT_STALLED);
        assertThat(status.getConditions()).extracting(Condition::getType).containsExactly(READY, PROGRESSING, DEGRADED, CONFLICT,
                PolicyStatusAggregator.RECONCILING, PolicyStatusAggregator.STALLED);
    }

    @Test
    void kstatusConditionsFollowProgressAndFailures() {
        ConntrackPolicyStatus pending = aggregate(policy("p", 3), List.of(applied("a"), state("b", 2, 1, "Applied")), T0);
        assertCondition(pending, PolicyStatusAggregator.RECONCILING, "True", "ApplyingSettings");
        assertCondition(pending, PolicyStatusAggregator.STALLED, "False", PolicyStatusAggregator.REASON_NOT_STALLED);

        ConntrackPolicyStatus failed = aggregate(policy("p", 3), List.of(applied("a"), state("b", 2, 2, "Degraded")), T0);
        assertCondition(failed, PolicyStatusAggregator.STALLED, "True", PolicyStatusAggregator.REASON_NODES_FAILED);
    }

    @Test
    void noNodesSelectedIsReady() {
        ConntrackPolicyStatus status = aggregate(policy("p", 1), List.of(), T0);

        assertCondition(status, READY, "True", "NoNodesSelected");
        assertCondition(status, PROGRESSING, "False", "Complete");
        assertThat(status.getNodes().getSelected()).isZero();
    }

    @Test
    void pendingNodesAreCountedInTheMessage() {
        List<ConntrackNodeState> states = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            states.add(applied("ok-" + i));
        }
        for (int i = 0; i < 3; i++) {
            states.add(state("late-" + i, 2, 1, "Applied"));
        }

        ConntrackPolicyStatus status = aggregate(policy("p", 4), states, T0);

        Condition ready = assertCondition(status, READY, "False", "NodesPending");
        // Why and where (issue 17): the count as before, then what the nodes wait for, by name.
        assertThat(ready.getMessage()).isEqualTo("3 of 10 nodes have not applied generation 4 yet: "
                + "3 have not reported it yet: late-0, late-1, late-2");
        assertCondition(status, PROGRESSING, "True", "ApplyingSettings");
    }

    @Test
    void anEnforcePolicyOnNodesAnAuditKeepsObservingIsHeldNotReadyAndSaysByWhomAndWhere() {
        ConntrackPolicy baseline = policy("p", 1);
        baseline.getSpec().setMode(dev.conntrack.api.Mode.Enforce);
        List<ConntrackNodeState> states = new ArrayList<>();
        for (String name : List.of("n1", "n2")) {
            ConntrackNodeState observing = state(name, 2, 2, "Applied"); // Applied=True, reason ObserveOnly on the node
            observing.getSpec().setMode(dev.conntrack.api.Mode.ObserveOnly);
            observing.getSpec().setSources(Map.of("mode", "observe-only-audit"));
            states.add(observing);
        }
        states.add(applied("n3"));

        ConntrackPolicyStatus status = aggregate(baseline, states, T0);

        assertThat(status.getNodes().getApplied()).as("observing wrote nothing").isEqualTo(1);
        assertThat(status.getNodes().getHeldByObserveOnly()).isEqualTo(2);
        Condition ready = assertCondition(status, READY, "False", PolicyStatusAggregator.REASON_HELD_BY_OBSERVE_ONLY);
        assertThat(ready.getMessage()).isEqualTo("2 of 3 nodes only observe: observe-only-audit (ObserveOnly, higher priority) "
                + "sets their mode, so nothing of generation 1 is written there until it leaves them: n1, n2");
        assertCondition(status, PROGRESSING, "False", PolicyStatusAggregator.REASON_HELD_BY_OBSERVE_ONLY);
        Condition stalled = assertCondition(status, PolicyStatusAggregator.STALLED, "True", PolicyStatusAggregator.REASON_HELD_BY_OBSERVE_ONLY);
        assertThat(stalled.getMessage()).isEqualTo(ready.getMessage());
        assertThat(status.getWorstNodes()).as("held is where the user put them, not trouble").isEmpty();

        // A rollout that paused earlier (sticky) does not hide that the audit is what blocks now.
        dev.conntrack.api.RolloutStatus paused = new dev.conntrack.api.RolloutStatus();
        paused.setGeneration(1L);
        paused.setPaused(true);
        paused.setHeldNodes(2);
        paused.setUpdatedNodes(1);
        ConntrackPolicyStatus stillPaused = aggregator.aggregate(baseline, states, T0, paused).orElseThrow();
        assertCondition(stillPaused, PROGRESSING, "False", PolicyStatusAggregator.REASON_ROLLOUT_PAUSED);
        assertCondition(stillPaused, PolicyStatusAggregator.STALLED, "True", PolicyStatusAggregator.REASON_HELD_BY_OBSERVE_ONLY);

        // The audit itself, on the same nodes, is Ready: observing is what it asks for.
        ConntrackPolicy audit = policy("observe-only-audit", 1);
        audit.getSpec().setMode(dev.conntrack.api.Mode.ObserveOnly);
        List<ConntrackNodeState> auditStates = new ArrayList<>(states.subList(0, 2));
        auditStates.forEach(s -> s.getSpec().setPolicyGenerations(new java.util.TreeMap<>(Map.of("observe-only-audit", 1L, "p", 1L))));
        assertCondition(aggregator.aggregate(audit, auditStates, T0).orElseThrow(), READY, "True", "AllNodesApplied");
    }

    @Test
    void nodesNotAppliedYetAreGroupedByWhatTheyWaitFor() {
        ConntrackPolicy p = policy("p", 3);
        ConntrackNodeState notTaken = state("a", 2, 2, "Applied");
        notTaken.getSpec().setPolicyGenerations(new java.util.TreeMap<>(Map.of("p", 2L)));
        ConntrackNodeState unreported = state("b", 3, 2, "Applied");
        ConntrackNodeState capped = state("c", 2, 2);
        Conditions.find(capped.getStatus().getConditions(), "Applied").setReason("AgentObserveOnly");

        Condition ready = assertCondition(aggregate(p, List.of(notTaken, unreported, capped, applied("d")), T0),
                READY, "False", "NodesPending");

        assertThat(ready.getMessage()).isEqualTo("3 of 4 nodes have not applied generation 3 yet: 1 waits for its rollout batch: a; "
                + "1 has not reported it yet: b; 1 reports Applied=False (AgentObserveOnly): c");
    }

    @Test
    void aDropSpellShorterThanTheRollUpStillCountsTheNodeAsDroppingWhileItIsRecent() {
        // The agent reported TableFull True and False again between two roll-ups; its last table-full time stays.
        ConntrackNodeState brief = applied("brief");
        brief.getStatus().setLastTableFullTime(T0.minusSeconds(5).toString());
        ConntrackNodeState longAgo = applied("long-ago");
        longAgo.getStatus().setLastTableFullTime(T0.minus(PolicyStatusAggregator.DROPPED_RECENTLY).minusSeconds(1).toString());

        ConntrackPolicyStatus status = aggregate(policy("p", 1), List.of(brief, longAgo), T0);

        assertThat(status.getNodes().getDropping()).isEqualTo(1);
        Condition degraded = assertCondition(status, DEGRADED, "True", "NodesDropping");
        assertThat(degraded.getMessage()).isEqualTo("1 node drops packets: brief");
        assertThat(status.getWorstNodes()).extracting(NodeSummary::getName).containsExactly("brief");
        assertCondition(status, READY, "True", "AllNodesApplied");

        // Later the drop is no longer recent: nothing drops.
        ConntrackPolicyStatus later = aggregate(policy("p", 1), List.of(brief),
                T0.plus(PolicyStatusAggregator.DROPPED_RECENTLY));
        assertThat(later.getNodes().getDropping()).isZero();
    }

    @Test
    void anInvalidPolicyIsNotReadyAndStalledSayingWhatIsWrong() {
        ConntrackPolicy p = policy("p", 3);
        ConntrackPolicyStatus status = aggregator.aggregate(p, builtFrom(p, List.of(applied("a"))), T0, null,
                List.of("monitoring.pollInterval must be a duration between 100ms and 1m such as \"30s\", is \"0s\"")).orElseThrow();

        Condition ready = assertCondition(status, READY, "False", PolicyStatusAggregator.REASON_INVALID_SETTINGS);
        assertThat(ready.getMessage()).startsWith("generation 3 is not applied anywhere, its values are invalid")
                .contains("monitoring.pollInterval").contains("\"0s\"");
        assertCondition(status, PROGRESSING, "False", PolicyStatusAggregator.REASON_INVALID_SETTINGS);
        assertCondition(status, PolicyStatusAggregator.STALLED, "True", PolicyStatusAggregator.REASON_INVALID_SETTINGS);
        assertCondition(status, PolicyStatusAggregator.RECONCILING, "False", PolicyStatusAggregator.REASON_INVALID_SETTINGS);
    }

    @Test
    void failedNodesAreNamedUpToThree() {
        List<ConntrackNodeState> states = new ArrayList<>(List.of(applied("ok")));
        for (String name : List.of("e", "d", "c", "b", "a")) {
            states.add(state(name, 2, 2, "Degraded"));
        }

        ConntrackPolicyStatus status = aggregate(policy("p", 1), states, T0);

        Condition ready = assertCondition(status, READY, "False", "NodesFailed");
        assertThat(ready.getMessage()).contains("5 of 6").contains("a, b, c and 2 more").doesNotContain("d,");
        Condition degraded = assertCondition(status, DEGRADED, "True", "NodesDegraded");
        assertThat(degraded.getMessage()).isEqualTo("5 nodes are degraded: a, b, c and 2 more");
        // Failed nodes wait for nothing: they are not progressing.
        assertCondition(status, PROGRESSING, "False", "Complete");
    }

    @Test
    void droppingNodesDegradeThePolicy() {
        List<ConntrackNodeState> states = List.of(
                applied("ok"),
                withUsage(state("b", 2, 2, "Applied", "TableFull"), 100.0, 1.0),
                withUsage(state("a", 2, 2, "Applied", "TableFull"), 100.0, 9.0));

        ConntrackPolicyStatus status = aggregate(policy("p", 1), states, T0);

        Condition degraded = assertCondition(status, DEGRADED, "True", "NodesDropping");
        assertThat(degraded.getMessage()).isEqualTo("2 nodes drop packets: a, b");
        // Dropping nodes still applied the settings.
        assertCondition(status, READY, "True", "AllNodesApplied");
    }

    @Test
    void conflictsNamingThisPolicyAreReportedBounded() {
        ConntrackNodeState n1 = applied("n1");
        n1.getSpec().setConflicts(List.of(
                note("conntrack.max", "a", "p"),
                note("conntrack.udp", "p", "z"),
                note("mode", "other", "third"))); // not about p
        ConntrackNodeState n2 = applied("n2");
        n2.getSpec().setConflicts(List.of(note("conntrack.max", "b", "p")));

        ConntrackPolicyStatus status = aggregate(policy("p", 1), List.of(n1, n2, applied("n3")), T0);

        Condition conflict = assertCondition(status, CONFLICT, "True", "EqualPriorityConflict");
        assertThat(conflict.getMessage())
                .contains("on 2 nodes")
                .contains("conntrack.max (with a, b)")
                .contains("conntrack.udp (with z)")
                .doesNotContain("mode").doesNotContain("third");

        ConntrackNodeState many = applied("many");
        List<ConflictNote> notes = new ArrayList<>();
        for (String field : List.of("conntrack.buckets", "conntrack.generic", "conntrack.max", "conntrack.tcpEstablished",
                "conntrack.tcpFinWait", "conntrack.tcpLoose", "conntrack.udp", "mode")) {
            notes.add(note(field, "a", "p"));
        }
        many.getSpec().setConflicts(notes);
        Condition bounded = Conditions.find(aggregate(policy("p", 1), List.of(many), T0).getConditions(), CONFLICT);
        assertThat(bounded.getMessage()).contains("conntrack.tcpFinWait (with a) and 3 more").doesNotContain("conntrack.udp");
    }

    @Test
    void lastTransitionTimeMovesOnlyOnAFlip() {
        ConntrackPolicy p = policy("p", 1);
        List<ConntrackNodeState> pending = List.of(applied("a"), state("b", 2, 1, "Applied"));
        p.setStatus(aggregate(p, pending, T0));
        assertThat(Conditions.find(p.getStatus().getConditions(), READY).getLastTransitionTime()).isEqualTo("2026-03-01T10:00:00Z");

        // Still pending, but the message changes: a write, same transition time.
        List<ConntrackNodeState> morePending = List.of(state("a", 2, 1, "Applied"), state("b", 2, 1, "Applied"));
        ConntrackPolicyStatus stillPending = aggregate(p, morePending, T1);
        Condition ready = Conditions.find(stillPending.getConditions(), READY);
        assertThat(ready.getMessage()).startsWith("2 of 2");
        assertThat(ready.getLastTransitionTime()).isEqualTo("2026-03-01T10:00:00Z");

        // Flips to True: new transition time, and only for the conditions that flipped.
        ConntrackPolicyStatus done = aggregate(p, List.of(applied("a"), applied("b")), T1);
        assertThat(Conditions.find(done.getConditions(), READY).getLastTransitionTime()).isEqualTo("2026-03-01T10:05:00Z");
        assertThat(Conditions.find(done.getConditions(), PROGRESSING).getLastTransitionTime()).isEqualTo("2026-03-01T10:05:00Z");
        assertThat(Conditions.find(done.getConditions(), DEGRADED).getLastTransitionTime()).isEqualTo("2026-03-01T10:00:00Z");
    }

    @Test
    void returnsEmptyWhenNothingChanged() {
        ConntrackPolicy p = policy("p", 1);
        List<ConntrackNodeState> states = List.of(applied("a"),
                withUsage(state("b", 2, 2, "Applied", "Pressure"), 91.0, 0.0));
        p.setStatus(aggregator.aggregate(p, builtFrom(p, states), T0).orElseThrow());

        assertThat(aggregator.aggregate(p, builtFrom(p, states), T1)).isEmpty();

        // The status as the API server hands it back (round trip through JSON) is still equal.
        p.setStatus(Serialization.unmarshal(Serialization.asJson(p.getStatus()), ConntrackPolicyStatus.class));
        assertThat(aggregator.aggregate(p, builtFrom(p, states), T1)).isEmpty();

        // Anything that changes is written: usage, a new policy generation.
        withUsage(states.get(1), 93.0, 0.0);
        assertThat(aggregator.aggregate(p, builtFrom(p, states), T1)).isPresent();
        p.getMetadata().setGeneration(2L);
        assertThat(aggregator.aggregate(p, builtFrom(p, List.of(applied("a"))), T1)).isPresent();
    }

    @Test
    void statusStaysSmallForFiveThousandNodes() {
        List<ConntrackNodeState> states = new ArrayList<>();
        String longPart = "x".repeat(200);
        for (int i = 0; i < 5000; i++) {
            String name = "node-" + longPart + "-" + i;
            ConntrackNodeState s = switch (i % 4) {
                case 0 -> withUsage(state(name, 3, 3, "Applied", "TableFull", "Pressure"), 100.0, i);
                case 1 -> state(name, 3, 3, "Degraded");
                case 2 -> state(name, 3, 2, "Applied");
                default -> withUsage(state(name, 3, 3, "Applied", "Pressure"), 90.0, 0.0);
            };
            List<ConflictNote> notes = new ArrayList<>();
            for (int f = 0; f < 10; f++) {
                notes.add(note("conntrack.field" + f, "policy-" + longPart, "p", "rival-" + (i % 50) + "-" + longPart));
            }
            s.getSpec().setConflicts(notes);
            states.add(s);
        }

        ConntrackPolicyStatus status = aggregate(policy("p", 3), states, T0);

        byte[] json = Serialization.asJson(status).getBytes(StandardCharsets.UTF_8);
        assertThat(json.length).isLessThan(16 * 1024);
        assertThat(status.getWorstNodes()).hasSize(5);
        assertThat(status.getNodes().getSelected()).isEqualTo(5000);
        assertThat(status.getConditions()).allSatisfy(c -> assertThat(c.getMessage().length()).isLessThanOrEqualTo(1024));
    }

    @Test
    void aPausedRolloutIsNotProgressingAndNamesTheNodesAndHowToResume() {
        dev.conntrack.api.RolloutStatus rollout = new dev.conntrack.api.RolloutStatus();
        rollout.setGeneration(2L);
        rollout.setMaxUnavailable(2);
        rollout.setUpdatedNodes(1);
        rollout.setPendingNodes(7);
        rollout.setPaused(true);
        rollout.setPausedNodes(List.of("n2"));
        ConntrackPolicy p = policy("p", 2);

        ConntrackPolicyStatus status = aggregator.aggregate(p, builtFrom(p, List.of(applied("n1"), state("n2", 2, 2, "Degraded"))),
                T0, rollout).orElseThrow();

        Condition progressing = assertCondition(status, PROGRESSING, "False", PolicyStatusAggregator.REASON_ROLLOUT_PAUSED);
        assertThat(progressing.getMessage()).contains("n2").contains(RolloutPlanner.RESUME_ANNOTATION).contains("7 waiting");
        assertThat(status.getRollout().getPausedNodes()).containsExactly("n2");

        // The same rollout status again is no change; a resumed one is.
        p.setStatus(status);
        assertThat(aggregator.aggregate(p, builtFrom(p, List.of(applied("n1"), state("n2", 2, 2, "Degraded"))), T1, rollout)).isEmpty();
        dev.conntrack.api.RolloutStatus resumed = new dev.conntrack.api.RolloutStatus();
        resumed.setGeneration(2L);
        resumed.setMaxUnavailable(2);
        resumed.setInFlightNodes(2);
        resumed.setPendingNodes(5);
        ConntrackPolicyStatus moving = aggregator.aggregate(p, builtFrom(p, List.of(applied("n1"), state("n2", 2, 2, "Degraded"))),
                T1, resumed).orElseThrow();
        Condition again = assertCondition(moving, PROGRESSING, "True", "ApplyingSettings");
        assertThat(again.getMessage()).contains("2 in flight (at most 2 at a time), 5 waiting");
        assertThat(again.getLastTransitionTime()).isEqualTo("2026-03-01T10:05:00Z");
    }

    private ConntrackPolicyStatus aggregate(ConntrackPolicy p, List<ConntrackNodeState> states, Instant now) {
        return aggregator.aggregate(p, builtFrom(p, states), now).orElseThrow();
    }

    private static Condition assertCondition(ConntrackPolicyStatus status, String type, String value, String reason) {
        Condition c = Conditions.find(status.getConditions(), type);
        assertThat(c).as(type).isNotNull();
        assertThat(c.getStatus()).as(type + " status").isEqualTo(value);
        assertThat(c.getReason()).as(type + " reason").isEqualTo(reason);
        return c;
    }

    /** Node specs as the merger writes them after it saw the policy's current generation (unless a test set another). */
    static List<ConntrackNodeState> builtFrom(ConntrackPolicy p, List<ConntrackNodeState> states) {
        for (ConntrackNodeState s : states) {
            if (s.getSpec().getPolicyGenerations() == null) {
                s.getSpec().setPolicyGenerations(new java.util.TreeMap<>(Map.of(p.getMetadata().getName(), p.getMetadata().getGeneration())));
            }
        }
        return states;
    }

    @Test
    void aNodeWhoseAgentStoppedReportingIsNotAppliedAndNamed() {
        ConntrackNodeState fresh = applied("a");
        fresh.getStatus().setHeartbeatTime(T0.minusSeconds(30).toString());
        ConntrackNodeState silent = applied("b");
        silent.getStatus().setHeartbeatTime(T0.minus(PolicyStatusAggregator.SILENT_AFTER).minusSeconds(1).toString());

        ConntrackPolicyStatus status = aggregate(policy("p", 1), List.of(fresh, silent), T0);

        assertThat(status.getNodes().getApplied()).isEqualTo(1);
        assertCondition(status, PolicyStatusAggregator.READY, "False", PolicyStatusAggregator.REASON_NODES_PENDING);
        assertThat(status.getWorstNodes()).singleElement().satisfies(n -> {
            assertThat(n.getName()).isEqualTo("b");
            assertThat(n.getReason()).isEqualTo(PolicyStatusAggregator.NODE_AGENT_SILENT);
        });
    }

    @Test
    void nodeWhoseSpecWasBuiltFromAnOlderPolicyGenerationHasNotApplied() {
        ConntrackPolicy p = policy("p", 5);
        ConntrackNodeState stale = applied("a");
        stale.getSpec().setPolicyGenerations(new java.util.TreeMap<>(Map.of("p", 4L)));
        ConntrackNodeState other = applied("b");
        other.getSpec().setPolicyGenerations(new java.util.TreeMap<>(Map.of("other", 5L)));

        ConntrackPolicyStatus status = aggregate(p, List.of(stale, other, applied("c")), T0);

        assertThat(status.getNodes().getSelected()).isEqualTo(3);
        assertThat(status.getNodes().getApplied()).isEqualTo(1);
        assertCondition(status, PolicyStatusAggregator.READY, "False", PolicyStatusAggregator.REASON_NODES_PENDING);
    }

    static ConntrackPolicy policy(String name, long generation) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName(name).withGeneration(generation).build());
        return p;
    }

    static ConntrackNodeState applied(String name) {
        return state(name, 2, 2, "Applied");
    }

    /** A node state whose agent saw {@code observed} and reports the given conditions True (the rest False). */
    static ConntrackNodeState state(String name, long generation, Integer observed, String... trueConditions) {
        ConntrackNodeState s = new ConntrackNodeState();
        s.setMetadata(new ObjectMetaBuilder().withName(name).withGeneration(generation).build());
        s.getSpec().setPolicies(List.of("p"));
        if (observed == null) {
            return s;
        }
        ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
        status.setObservedGeneration(observed.longValue());
        List<String> on = List.of(trueConditions);
        List<Condition> conditions = new ArrayList<>();
        for (String type : List.of("Applied", "Degraded", "Pressure", "TableFull")) {
            conditions.add(Conditions.of(type, on.contains(type), "Test", "", (long) observed));
        }
        status.setConditions(conditions);
        s.setStatus(status);
        return s;
    }

    static ConntrackNodeState withUsage(ConntrackNodeState s, double usagePercent, double dropsPerSecond) {
        TableUsage usage = new TableUsage();
        usage.setMax(131072L);
        usage.setEntries(Math.round(131072 * usagePercent / 100));
        usage.setUsagePercent(usagePercent);
        s.getStatus().setUsage(usage);
        DropCounters counters = new DropCounters();
        counters.setDropsPerSecond(dropsPerSecond);
        counters.setDrop(Math.round(dropsPerSecond * 10));
        s.getStatus().setCounters(counters);
        return s;
    }

    static ConflictNote note(String field, String... policies) {
        ConflictNote n = new ConflictNote();
        n.setField(field);
        n.setPolicies(List.of(policies));
        n.setWinner(policies[0]);
        return n;
    }
}
