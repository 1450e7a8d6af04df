package dev.conntrack.operator;

import static dev.conntrack.operator.PolicyStatusAggregator.DEGRADED;
import static dev.conntrack.operator.PolicyStatusAggregator.PROGRESSING;
import static dev.conntrack.operator.PolicyStatusAggregator.READY;
import static dev.conntrack.operator.PolicyStatusAggregator.RECONCILING;
import static dev.conntrack.operator.PolicyStatusAggregator.STALLED;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.NodeCounts;
import dev.conntrack.api.RolloutStatus;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The policy's Ready, Progressing, Degraded, Reconciling and Stalled conditions from a {@link Tally}
 * of its nodes. Ready says why and where when it is False: failed nodes first, then nodes an
 * ObserveOnly policy holds, then nodes still on their way (grouped by what they wait for).
 */
final class PolicyConditions {
    private static final int NAMES_IN_MESSAGE = 3;

    private PolicyConditions() {
    }

    /** The counts and names the conditions are built from, filled one node at a time. */
    static final class Tally {
        final NodeCounts counts = new NodeCounts();
        final List<String> failed = new ArrayList<>();
        final List<String> dropping = new ArrayList<>();
        final List<String> held = new ArrayList<>();
        final Set<String> observers = new TreeSet<>();
        final Map<PolicyNodeView.Waiting, List<String>> waiting = new EnumMap<>(PolicyNodeView.Waiting.class);
        final Set<String> notAppliedReasons = new TreeSet<>();

        void add(PolicyNodeView node) {
            counts.setSelected(counts.getSelected() + 1);
            if (node.applied) {
                counts.setApplied(counts.getApplied() + 1);
            }
            if (node.degraded) {
                counts.setFailed(counts.getFailed() + 1);
                failed.add(node.name);
            }
            if (node.held) {
                counts.setHeldByObserveOnly(counts.getHeldByObserveOnly() + 1);
                held.add(node.name);
                if (node.modeSource != null) {
                    observers.add(node.modeSource);
                }
            }
            if (node.pressure) {
                counts.setUnderPressure(counts.getUnderPressure() + 1);
            }
            if (node.tableFull) {
                counts.setDropping(counts.getDropping() + 1);
                dropping.add(node.name);
            }
            if (node.waiting != null) {
                waiting.computeIfAbsent(node.waiting, w -> new ArrayList<>()).add(node.name);
                if (node.waiting == PolicyNodeView.Waiting.NOT_APPLIED && node.appliedReason != null) {
                    notAppliedReasons.add(node.appliedReason);
                }
            }
        }

        int waitingCount() {
            return waiting.values().stream().mapToInt(List::size).sum();
        }
    }

    static Condition ready(Tally t, Long generation) {
        NodeCounts c = t.counts;
        if (c.getSelected() == 0) {
            return Conditions.of(READY, true, PolicyStatusAggregator.REASON_NO_NODES_SELECTED,
                    "No node is selected by this policy", generation);
        }
        if (c.getFailed() > 0) {
            return Conditions.of(READY, false, PolicyStatusAggregator.REASON_NODES_FAILED,
                    cap(c.getFailed() + " of " + c.getSelected() + " nodes failed: " + names(t.failed)), generation);
        }
        if (c.getHeldByObserveOnly() > 0) {
            String message = heldText(t, generation);
            if (t.waitingCount() > 0) {
                message += "; " + waitingText(t, generation);
            }
            return Conditions.of(READY, false, PolicyStatusAggregator.REASON_HELD_BY_OBSERVE_ONLY, cap(message), generation);
        }
        if (t.waitingCount() > 0) {
            return Conditions.of(READY, false, PolicyStatusAggregator.REASON_NODES_PENDING, cap(waitingText(t, generation)), generation);
        }
        return Conditions.of(READY, true, PolicyStatusAggregator.REASON_ALL_NODES_APPLIED,
                "All " + c.getSelected() + " selected nodes applied " + generationText(generation), generation);
    }

    /** Ready or Progressing False: the policy's values break the CRD's rules, so no node takes this generation. */
    static Condition invalid(String type, List<String> problems, Long generation) {
        return Conditions.of(type, false, PolicyStatusAggregator.REASON_INVALID_SETTINGS,
                cap(generationText(generation) + " is not applied anywhere, its values are invalid (nodes keep what they had of it): "
                        + String.join("; ", problems)), generation);
    }

    /** "2 of 5 nodes only observe: observe-only-audit (ObserveOnly, higher priority) sets their mode, ...". */
    private static String heldText(Tally t, Long generation) {
        int held = t.counts.getHeldByObserveOnly();
        String observers = t.observers.isEmpty() ? "an ObserveOnly policy" : names(new ArrayList<>(t.observers));
        return held + " of " + t.counts.getSelected() + " nodes only observe: " + observers
                + " (ObserveOnly, higher priority) " + (t.observers.size() > 1 ? "set" : "sets") + " their mode, so nothing of "
                + generationText(generation) + " is written there until it leaves them: " + names(t.held);
    }

    /** "3 of 10 nodes have not applied generation 4 yet: 2 wait for their rollout batch (a, b), 1 ...". */
    private static String waitingText(Tally t, Long generation) {
        List<String> groups = new ArrayList<>();
        for (Map.Entry<PolicyNodeView.Waiting, List<String>> e : t.waiting.entrySet()) {
            String group = e.getValue().size() + " " + e.getKey().text(e.getValue().size());
            if (e.getKey() == PolicyNodeView.Waiting.NOT_APPLIED && !t.notAppliedReasons.isEmpty()) {
                group += " (" + String.join(", ", t.notAppliedReasons) + ")";
            }
            groups.add(group + ": " + names(e.getValue()));
        }
        return t.waitingCount() + " of " + t.counts.getSelected() + " nodes have not applied " + generationText(generation)
                + " yet: " + String.join("; ", groups);
    }

    /**
     * kstatus' own abnormal-true condition (Flux's default health check reads it, not Ready):
     * True while settings are still being applied, so a fresh policy is InProgress, not Current.
     */
    static Condition reconciling(Condition progressing, Long generation) {
        boolean applying = Conditions.TRUE.equals(progressing.getStatus());
        return Conditions.of(RECONCILING, applying, progressing.getReason(), progressing.getMessage(), generation);
    }

    /**
     * kstatus' Stalled: True when it cannot finish without someone acting: nodes refuse the
     * settings, the rollout paused, or an ObserveOnly policy holds nodes back (by design, but this
     * Enforce policy is not in force there until that policy goes).
     */
    static Condition stalled(Condition ready, Condition progressing, Long generation) {
        String reason = ready.getReason();
        // What blocks now comes first: invalid values, or an audit holding nodes (once no other node is applying).
        if (PolicyStatusAggregator.REASON_INVALID_SETTINGS.equals(reason)
                || (PolicyStatusAggregator.REASON_HELD_BY_OBSERVE_ONLY.equals(reason) && !Conditions.TRUE.equals(progressing.getStatus()))) {
            return Conditions.of(STALLED, true, reason, ready.getMessage(), generation);
        }
        // A paused rollout with every node applied (the node recovered) has nothing left to block.
        if (PolicyStatusAggregator.REASON_ROLLOUT_PAUSED.equals(progressing.getReason()) && !Conditions.TRUE.equals(ready.getStatus())) {
            return Conditions.of(STALLED, true, PolicyStatusAggregator.REASON_ROLLOUT_PAUSED, progressing.getMessage(), generation);
        }
        if (PolicyStatusAggregator.REASON_NODES_FAILED.equals(reason)) {
            return Conditions.of(STALLED, true, reason, ready.getMessage(), generation);
        }
        return Conditions.of(STALLED, false, PolicyStatusAggregator.REASON_NOT_STALLED, "Nothing blocks the policy", generation);
    }

    static Condition progressing(Tally t, Long generation, RolloutStatus rollout) {
        NodeCounts c = t.counts;
        if (rollout != null && rollout.isPaused()) {
            List<String> names = rollout.getPausedNodes() == null ? List.of() : rollout.getPausedNodes();
            return Conditions.of(PROGRESSING, false, PolicyStatusAggregator.REASON_ROLLOUT_PAUSED,
                    cap("Rollout of " + generationText(generation) + " paused: "
                            + (names.isEmpty() ? "a node" : String.join(", ", names))
                            + " turned Degraded or started dropping packets after taking it; "
                            + rollout.getUpdatedNodes() + " of " + c.getSelected() + " nodes updated, "
                            + rollout.getPendingNodes() + " waiting. Set the annotation "
                            + RolloutPlanner.RESUME_ANNOTATION + " to a new value to resume"), generation);
        }
        if (rollout != null && rollout.getPendingNodes() + rollout.getInFlightNodes() > 0) {
            return Conditions.of(PROGRESSING, true, PolicyStatusAggregator.REASON_APPLYING_SETTINGS,
                    "Rolling out " + generationText(generation) + ": " + rollout.getUpdatedNodes() + " of " + c.getSelected()
                            + " nodes updated, " + rollout.getInFlightNodes() + " in flight (at most "
                            + rollout.getMaxUnavailable() + " at a time), " + rollout.getPendingNodes() + " waiting"
                            + (rollout.getHeldNodes() > 0 ? ", " + rollout.getHeldNodes() + " held by an ObserveOnly policy" : ""),
                    generation);
        }
        int waiting = t.waitingCount();
        if (waiting > 0) {
            return Conditions.of(PROGRESSING, true, PolicyStatusAggregator.REASON_APPLYING_SETTINGS,
                    waiting + " of " + c.getSelected() + " nodes are applying " + generationText(generation), generation);
        }
        if (c.getHeldByObserveOnly() > 0) {
            return Conditions.of(PROGRESSING, false, PolicyStatusAggregator.REASON_HELD_BY_OBSERVE_ONLY,
                    cap(heldText(t, generation)), generation);
        }
        return Conditions.of(PROGRESSING, false, PolicyStatusAggregator.REASON_COMPLETE,
                "No selected node is waiting to apply the settings", generation);
    }

    static Condition degraded(Tally t, Long generation) {
        NodeCounts c = t.counts;
        // Dropping packets is the more urgent of the two, so it names the reason when both hold.
        if (c.getDropping() > 0) {
            String message = nodes(c.getDropping()) + (c.getDropping() == 1 ? " drops" : " drop") + " packets: " + names(t.dropping);
            if (c.getFailed() > 0) {
                message += "; " + degradedText(c.getFailed(), t.failed);
            }
            return Conditions.of(DEGRADED, true, PolicyStatusAggregator.REASON_NODES_DROPPING, cap(message), generation);
        }
        if (c.getFailed() > 0) {
            return Conditions.of(DEGRADED, true, PolicyStatusAggregator.REASON_NODES_DEGRADED,
                    cap(degradedText(c.getFailed(), t.failed)), generation);
        }
        return Conditions.of(DEGRADED, false, PolicyStatusAggregator.REASON_HEALTHY,
                "No selected node is degraded or dropping packets", generation);
    }

    private static String degradedText(int failed, List<String> failedNames) {
        return nodes(failed) + (failed == 1 ? " is" : " are") + " degraded: " + names(failedNames);
    }

    /** "a, b, c and 7 more", alphabetical so the message does not churn as rates move. */
    static String names(List<String> names) {
        List<String> sorted = new ArrayList<>(names);
        sorted.sort(Comparator.naturalOrder());
        String shown = String.join(", ", sorted.subList(0, Math.min(sorted.size(), NAMES_IN_MESSAGE)));
        return sorted.size() > NAMES_IN_MESSAGE ? shown + " and " + (sorted.size() - NAMES_IN_MESSAGE) + " more" : shown;
    }

    static String cap(String message) {
        int max = PolicyStatusAggregator.MAX_MESSAGE_CHARS;
        return message.length() <= max ? message : message.substring(0, max - 3) + "...";
    }

    static String nodes(int n) {
        return n + (n == 1 ? " node" : " nodes");
    }

    static String generationText(Long generation) {
        return generation == null ? "the current settings" : "generation " + generation;
    }
}
