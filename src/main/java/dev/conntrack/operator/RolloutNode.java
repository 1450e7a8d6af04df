package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.Mode;
import dev.conntrack.api.PolicySnapshot;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/**
 * What the rollout planner needs of one selected node, for one policy: which generation of the
 * policy its spec carries and since when, whether its agent reported the node state's current
 * generation, and whether (since when) it is Degraded or dropping.
 *
 * @param specGeneration the policy generation the node's spec is built from, null when it carries none
 * @param since          when the node took that generation, null when unknown
 * @param reported       the agent's status.observedGeneration equals the node state's metadata.generation
 * @param observing      the node's spec has mode ObserveOnly: whatever it carries, it enforces nothing
 * @param targetObserving the policies selecting the node now give it mode ObserveOnly: it takes them all
 *                        at once and writes nothing, so there is nothing to admit
 */
public record RolloutNode(String name, Long specGeneration, Instant since, boolean reported, boolean applied,
        boolean degraded, Instant degradedSince, boolean tableFull, Instant tableFullSince,
        boolean observing, boolean targetObserving) {

    public static RolloutNode of(ConntrackNodeState state, String policyName, boolean targetObserving) {
        String name = state.getMetadata() == null ? "" : state.getMetadata().getName();
        ConntrackNodeStateSpec spec = state.getSpec();
        Map<String, Long> generations = spec == null ? null : spec.getPolicyGenerations();
        Long specGeneration = generations == null ? null : generations.get(policyName);
        Map<String, PolicySnapshot> snapshots = spec == null ? null : spec.getPolicySnapshots();
        PolicySnapshot snapshot = snapshots == null ? null : snapshots.get(policyName);
        Instant since = snapshot == null ? null : instant(snapshot.getSince());

        ConntrackNodeStateStatus status = state.getStatus();
        Long generation = state.getMetadata() == null ? null : state.getMetadata().getGeneration();
        boolean reported = status != null && generation != null && generation.equals(status.getObservedGeneration());
        List<Condition> conditions = status == null ? null : status.getConditions();
        Condition degraded = trueCondition(conditions, PolicyStatusAggregator.NODE_DEGRADED);
        Condition tableFull = trueCondition(conditions, PolicyStatusAggregator.NODE_TABLE_FULL);
        return new RolloutNode(name, specGeneration, since, reported,
                Conditions.isTrue(conditions, PolicyStatusAggregator.NODE_APPLIED),
                degraded != null, degraded == null ? null : instant(degraded.getLastTransitionTime()),
                tableFull != null, tableFull == null ? null : instant(tableFull.getLastTransitionTime()),
                spec != null && spec.getMode() == Mode.ObserveOnly, targetObserving);
    }

    /** A selected Node whose node state does not exist yet: it carries nothing and has reported nothing. */
    public static RolloutNode withoutState(String name, boolean targetObserving) {
        return new RolloutNode(name, null, null, false, false, false, null, false, null, false, targetObserving);
    }

    /** The spec carries this generation of the policy and enforces it (or the node only observes anyway). */
    boolean took(long generation) {
        return specGeneration != null && specGeneration == generation && (!observing || targetObserving);
    }

    /**
     * Whether the node turned Degraded or started dropping at or after {@code threshold} (trouble
     * with an unknown start counts: the planner errs on the side of stopping).
     */
    public boolean troubledSince(Instant threshold) {
        return (degraded && (degradedSince == null || !degradedSince.isBefore(threshold)))
                || (tableFull && (tableFullSince == null || !tableFullSince.isBefore(threshold)));
    }

    static Instant instant(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static Condition trueCondition(List<Condition> conditions, String type) {
        Condition c = Conditions.find(conditions, type);
        return c != null && Conditions.TRUE.equals(c.getStatus()) ? c : null;
    }
}
