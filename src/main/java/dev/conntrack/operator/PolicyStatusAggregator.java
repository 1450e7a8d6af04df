package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConflictNote;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.DropCounters;
import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.api.NodeCounts;
import dev.conntrack.api.NodeSummary;
import dev.conntrack.api.RolloutStatus;
import dev.conntrack.api.TableUsage;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Rolls the node states that carry a policy up into that policy's status: counts, the few worst
 * nodes, and Ready/Progressing/Degraded/Conflict conditions. The status stays bounded at any fleet
 * size (counts, at most {@value #MAX_WORST_NODES} nodes, messages capped), and {@link #aggregate}
 * returns empty when nothing changed so the reconciler skips the write. Stateless and thread-safe.
 */
public class PolicyStatusAggregator {

    // Policy condition types and reasons.
    public static final String READY = "Ready";
    public static final String PROGRESSING = "Progressing";
    public static final String RECONCILING = "Reconciling";
    public static final String STALLED = "Stalled";
    public static final String REASON_NOT_STALLED = "NotStalled";
    public static final String DEGRADED = "Degraded";
    public static final String CONFLICT = "Conflict";
    public static final String REASON_ALL_NODES_APPLIED = "AllNodesApplied";
    public static final String REASON_NO_NODES_SELECTED = "NoNodesSelected";
    public static final String REASON_NODES_PENDING = "NodesPending";
    public static final String REASON_NODES_FAILED = "NodesFailed";
    public static final String REASON_APPLYING_SETTINGS = "ApplyingSettings";
    public static final String REASON_COMPLETE = "Complete";
    public static final String REASON_NODES_DEGRADED = "NodesDegraded";
    public static final String REASON_NODES_DROPPING = "NodesDropping";
    public static final String REASON_HEALTHY = "Healthy";
    public static final String REASON_EQUAL_PRIORITY_CONFLICT = "EqualPriorityConflict";
    public static final String REASON_NO_CONFLICT = "NoConflict";
    public static final String REASON_ROLLOUT_PAUSED = "RolloutPaused";

    // Node state condition types the agent writes (the contract in dev.conntrack.api), reused as NodeSummary reasons.
    public static final String NODE_APPLIED = NodeConditionTypes.APPLIED;
    public static final String NODE_DEGRADED = NodeConditionTypes.DEGRADED;
    public static final String NODE_PRESSURE = NodeConditionTypes.PRESSURE;
    public static final String NODE_TABLE_FULL = NodeConditionTypes.TABLE_FULL;
    public static final String NODE_NOT_APPLIED = "NotApplied";
    public static final String NODE_AGENT_SILENT = "AgentSilent";
    /** Three missed heartbeats (60 s each): the agent is gone, whatever its last status said. */
    public static final Duration SILENT_AFTER = Duration.ofMinutes(3);

    public static final int MAX_WORST_NODES = 5;
    /** Condition messages are for humans; past this they stop helping and start bloating etcd. */
    public static final int MAX_MESSAGE_CHARS = 1024;
    private static final int NAMES_IN_MESSAGE = 3;
    private static final int CONFLICT_MENTIONS = 5;

    private final FleetAuditor auditor = new FleetAuditor();

    /**
     * The new status for {@code policy}, or empty when it equals {@code policy.getStatus()}.
     *
     * @param statesSelectingIt the node states whose {@code spec.policies} contain this policy's name
     * @param now               the time stamped on conditions that flip
     */
    public Optional<ConntrackPolicyStatus> aggregate(ConntrackPolicy policy, Collection<ConntrackNodeState> statesSelectingIt,
            Instant now) {
        return aggregate(policy, statesSelectingIt, now, null);
    }

    /**
     * As above, with the rollout's progress from {@link RolloutPlanner}: stored in the status, and a
     * paused rollout turns Progressing False with reason {@value #REASON_ROLLOUT_PAUSED}. ObserveOnly
     * policies also get the {@link FleetAuditor} audit.
     */
    public Optional<ConntrackPolicyStatus> aggregate(ConntrackPolicy policy, Collection<ConntrackNodeState> statesSelectingIt,
            Instant now, RolloutStatus rollout) {
        Long generation = policy.getMetadata() == null ? null : policy.getMetadata().getGeneration();
        String policyName = PolicyMerger.name(policy);

        NodeCounts counts = new NodeCounts();
        List<NodeView> listed = new ArrayList<>();
        List<String> failedNames = new ArrayList<>();
        List<String> droppingNames = new ArrayList<>();
        int waiting = 0;
        ConflictSummary conflicts = new ConflictSummary(policyName);

        for (ConntrackNodeState state : statesSelectingIt) {
            NodeView node = NodeView.of(state, policyName, generation, now);
            counts.setSelected(counts.getSelected() + 1);
            if (node.applied) {
                counts.setApplied(counts.getApplied() + 1);
            }
            if (node.degraded) {
                counts.setFailed(counts.getFailed() + 1);
                failedNames.add(node.name);
            }
            if (node.pressure) {
                counts.setUnderPressure(counts.getUnderPressure() + 1);
            }
            if (node.tableFull) {
                counts.setDropping(counts.getDropping() + 1);
                droppingNames.add(node.name);
            }
            if (!node.applied && !node.degraded) {
                waiting++;
            }
            if (node.rank < NodeView.FINE) {
                listed.add(node);
            }
            conflicts.add(state);
        }

        Condition ready = ready(counts, failedNames, generation);
        Condition progressing = progressing(counts, waiting, generation, rollout);
        List<Condition> fresh = List.of(
                ready,
                progressing,
                degraded(counts, failedNames, droppingNames, generation),
                conflicts.condition(generation),
                reconciling(progressing, generation),
                stalled(ready, progressing, generation));

        ConntrackPolicyStatus previous = policy.getStatus();
        ConntrackPolicyStatus status = new ConntrackPolicyStatus();
        status.setObservedGeneration(generation);
        status.setConditions(Conditions.merge(previous == null ? null : previous.getConditions(), fresh, now));
        status.setNodes(counts);
        status.setWorstNodes(worst(listed));
        status.setRollout(rollout);
        status.setAudit(auditor.audit(policy, statesSelectingIt));

        return unchanged(previous, status) ? Optional.empty() : Optional.of(status);
    }

    private static boolean unchanged(ConntrackPolicyStatus previous, ConntrackPolicyStatus next) {
        return previous != null
                && Objects.equals(previous.getObservedGeneration(), next.getObservedGeneration())
                && Conditions.same(previous.getConditions(), next.getConditions())
                && JsonTrees.same(previous.getNodes(), next.getNodes())
                && JsonTrees.same(previous.getWorstNodes(), next.getWorstNodes())
                && JsonTrees.same(previous.getRollout(), next.getRollout())
                && JsonTrees.same(previous.getAudit(), next.getAudit());
    }

    private static Condition ready(NodeCounts c, List<String> failedNames, Long generation) {
        if (c.getSelected() == 0) {
            return Conditions.of(READY, true, REASON_NO_NODES_SELECTED,
                    "No node is selected by this policy", generation);
        }
        if (c.getFailed() > 0) {
            return Conditions.of(READY, false, REASON_NODES_FAILED,
                    cap(c.getFailed() + " of " + c.getSelected() + " nodes failed: " + names(failedNames)), generation);
        }
        int pending = c.getSelected() - c.getApplied();
        if (pending > 0) {
            return Conditions.of(READY, false, REASON_NODES_PENDING,
                    pending + " of " + c.getSelected() + " nodes have not applied " + generationText(generation) + " yet",
                    generation);
        }
        return Conditions.of(READY, true, REASON_ALL_NODES_APPLIED,
                "All " + c.getSelected() + " selected nodes applied " + generationText(generation), generation);
    }

    /**
     * kstatus' own abnormal-true condition (Flux's default health check reads it, not Ready):
     * True while settings are still being applied, so a fresh policy is InProgress, not Current.
     */
    private static Condition reconciling(Condition progressing, Long generation) {
        boolean applying = Conditions.TRUE.equals(progressing.getStatus());
        return Conditions.of(RECONCILING, applying, progressing.getReason(), progressing.getMessage(), generation);
    }

    /** kstatus' Stalled: True when it cannot finish without help (nodes refuse the settings, rollout paused). */
    private static Condition stalled(Condition ready, Condition progressing, Long generation) {
        // A paused rollout with every node applied (the node recovered) has nothing left to block.
        if (REASON_ROLLOUT_PAUSED.equals(progressing.getReason()) && !Conditions.TRUE.equals(ready.getStatus())) {
            return Conditions.of(STALLED, true, REASON_ROLLOUT_PAUSED, progressing.getMessage(), generation);
        }
        if (REASON_NODES_FAILED.equals(ready.getReason())) {
            return Conditions.of(STALLED, true, REASON_NODES_FAILED, ready.getMessage(), generation);
        }
        return Conditions.of(STALLED, false, REASON_NOT_STALLED, "Nothing blocks the policy", generation);
    }

    private static Condition progressing(NodeCounts c, int waiting, Long generation, RolloutStatus rollout) {
        if (rollout != null && rollout.isPaused()) {
            List<String> names = rollout.getPausedNodes() == null ? List.of() : rollout.getPausedNodes();
            return Conditions.of(PROGRESSING, false, REASON_ROLLOUT_PAUSED,
                    cap("Rollout of " + generationText(generation) + " paused: "
                            + (names.isEmpty() ? "a node" : String.join(", ", names))
                            + " turned Degraded or started dropping packets after taking it; "
                            + rollout.getUpdatedNodes() + " of " + c.getSelected() + " nodes updated, "
                            + rollout.getPendingNodes() + " waiting. Set the annotation "
                            + RolloutPlanner.RESUME_ANNOTATION + " to a new value to resume"), generation);
        }
        if (rollout != null && rollout.getPendingNodes() + rollout.getInFlightNodes() > 0) {
            return Conditions.of(PROGRESSING, true, REASON_APPLYING_SETTINGS,
                    "Rolling out " + generationText(generation) + ": " + rollout.getUpdatedNodes() + " of " + c.getSelected()
                            + " nodes updated, " + rollout.getInFlightNodes() + " in flight (at most "
                            + rollout.getMaxUnavailable() + " at a time), " + rollout.getPendingNodes() + " waiting",
                    generation);
        }
        if (waiting > 0) {
            return Conditions.of(PROGRESSING, true, REASON_APPLYING_SETTINGS,
                    waiting + " of " + c.getSelected() + " nodes are applying " + generationText(generation), generation);
        }
        return Conditions.of(PROGRESSING, false, REASON_COMPLETE,
                "No selected node is waiting to apply the settings", generation);
    }

    private static Condition degraded(NodeCounts c, List<String> failedNames, List<String> droppingNames, Long generation) {
        // Dropping packets is the more urgent of the two, so it names the reason when both hold.
        if (c.getDropping() > 0) {
            String message = nodes(c.getDropping()) + (c.getDropping() == 1 ? " drops" : " drop") + " packets: " + names(droppingNames);
            if (c.getFailed() > 0) {
                message += "; " + degradedText(c.getFailed(), failedNames);
            }
            return Conditions.of(DEGRADED, true, REASON_NODES_DROPPING, cap(message), generation);
        }
        if (c.getFailed() > 0) {
            return Conditions.of(DEGRADED, true, REASON_NODES_DEGRADED, cap(degradedText(c.getFailed(), failedNames)), generation);
        }
        return Conditions.of(DEGRADED, false, REASON_HEALTHY, "No selected node is degraded or dropping packets", generation);
    }

    private static String degradedText(int failed, List<String> failedNames) {
        return nodes(failed) + (failed == 1 ? " is" : " are") + " degraded: " + names(failedNames);
    }

    /** Nodes in trouble, worst first: dropping (by drop rate), under pressure (by usage), degraded, not applied. */
    private static List<NodeSummary> worst(List<NodeView> listed) {
        listed.sort(NodeView.WORST_FIRST);
        List<NodeSummary> worst = new ArrayList<>(Math.min(listed.size(), MAX_WORST_NODES));
        for (NodeView node : listed.subList(0, Math.min(listed.size(), MAX_WORST_NODES))) {
            worst.add(node.summary());
        }
        return worst;
    }

    /** "a, b, c and 7 more", alphabetical so the message does not churn as rates move. */
    static String names(List<String> names) {
        List<String> sorted = new ArrayList<>(names);
        sorted.sort(Comparator.naturalOrder());
        String shown = String.join(", ", sorted.subList(0, Math.min(sorted.size(), NAMES_IN_MESSAGE)));
        return sorted.size() > NAMES_IN_MESSAGE ? shown + " and " + (sorted.size() - NAMES_IN_MESSAGE) + " more" : shown;
    }

    static String cap(String message) {
        return message.length() <= MAX_MESSAGE_CHARS ? message : message.substring(0, MAX_MESSAGE_CHARS - 3) + "...";
    }

    private static String nodes(int n) {
        return n + (n == 1 ? " node" : " nodes");
    }

    private static String generationText(Long generation) {
        return generation == null ? "the current settings" : "generation " + generation;
    }

    private static Double oneDecimal(Double value) {
        // Rounded so that noise in the last digits does not rewrite the status.
        return value == null ? null : Math.round(value * 10.0) / 10.0;
    }

    /** What the roll-up needs of one node state. */
    private static final class NodeView {
        static final int TABLE_FULL = 0;
        static final int PRESSURE = 1;
        static final int DEGRADED = 2;
        static final int NOT_APPLIED = 3;
        static final int FINE = 4;

        static final Comparator<NodeView> WORST_FIRST = Comparator
                .comparingInt((NodeView n) -> n.rank)
                .thenComparingDouble(n -> n.rank == TABLE_FULL ? -n.dropsPerSecond : 0.0)
                .thenComparingDouble(n -> n.rank <= PRESSURE ? -n.usage : 0.0)
                .thenComparing(n -> n.name);

        final String name;
        final ConntrackNodeStateStatus status;
        final boolean applied;
        final boolean silent;
        final boolean degraded;
        final boolean pressure;
        final boolean tableFull;
        final int rank;
        final double dropsPerSecond;
        final double usage;

        private NodeView(String name, ConntrackNodeStateStatus status, Long generation, boolean specCurrent, Instant now) {
            this.name = name;
            this.status = status;
            this.silent = silentSince(status, now);
            List<Condition> conditions = status == null ? null : status.getConditions();
            // Applied only counts when the node spec already carries this policy's generation and the
            // agent reports the spec generation the node state has now.
            this.applied = specCurrent && !silent && status != null && status.getObservedGeneration() != null
                    && status.getObservedGeneration().equals(generation)
                    && Conditions.isTrue(conditions, NODE_APPLIED);
            this.degraded = Conditions.isTrue(conditions, NODE_DEGRADED);
            this.pressure = Conditions.isTrue(conditions, NODE_PRESSURE);
            this.tableFull = Conditions.isTrue(conditions, NODE_TABLE_FULL);
            this.rank = tableFull ? TABLE_FULL : pressure ? PRESSURE : degraded ? DEGRADED : !applied ? NOT_APPLIED : FINE;
            DropCounters counters = status == null ? null : status.getCounters();
            TableUsage usage = status == null ? null : status.getUsage();
            this.dropsPerSecond = counters == null || counters.getDropsPerSecond() == null ? 0 : counters.getDropsPerSecond();
            this.usage = usage == null || usage.getUsagePercent() == null ? 0 : usage.getUsagePercent();
        }

        private static boolean silentSince(ConntrackNodeStateStatus status, Instant now) {
            if (status == null || status.getHeartbeatTime() == null) {
                return false;
            }
            try {
                return Instant.parse(status.getHeartbeatTime()).isBefore(now.minus(SILENT_AFTER));
            } catch (java.time.format.DateTimeParseException e) {
                return false;
            }
        }

        static NodeView of(ConntrackNodeState state, String policyName, Long policyGeneration, Instant now) {
            String name = state.getMetadata() == null || state.getMetadata().getName() == null ? "" : state.getMetadata().getName();
            Long generation = state.getMetadata() == null ? null : state.getMetadata().getGeneration();
            Map<String, Long> built = state.getSpec() == null ? null : state.getSpec().getPolicyGenerations();
            boolean specCurrent = built != null && policyGeneration != null && policyGeneration.equals(built.get(policyName));
            return new NodeView(name, state.getStatus(), generation, specCurrent, now);
        }

        NodeSummary summary() {
            NodeSummary s = new NodeSummary();
            s.setName(name);
            s.setReason(switch (rank) {
                case TABLE_FULL -> NODE_TABLE_FULL;
                case PRESSURE -> NODE_PRESSURE;
                case DEGRADED -> NODE_DEGRADED;
                default -> silent ? NODE_AGENT_SILENT : NODE_NOT_APPLIED;
            });
            TableUsage usage = status == null ? null : status.getUsage();
            if (usage != null) {
                s.setUsagePercent(oneDecimal(usage.getUsagePercent()));
                s.setEntries(usage.getEntries());
                s.setMax(usage.getMax());
            }
            DropCounters counters = status == null ? null : status.getCounters();
            if (counters != null) {
                s.setDropsPerSecond(oneDecimal(counters.getDropsPerSecond()));
                s.setDrops(counters.getDrop());
            }
            return s;
        }
    }

    /** The conflicts that name this policy, across its nodes: field -> the other policies involved. */
    private static final class ConflictSummary {
        private final String policyName;
        private final Map<String, Set<String>> othersByField = new TreeMap<>();
        private int nodes;

        ConflictSummary(String policyName) {
            this.policyName = policyName;
        }

        void add(ConntrackNodeState state) {
            List<ConflictNote> notes = state.getSpec() == null ? null : state.getSpec().getConflicts();
            if (notes == null) {
                return;
            }
            boolean involved = false;
            for (ConflictNote note : notes) {
                if (note.getPolicies() == null || !note.getPolicies().contains(policyName)) {
                    continue;
                }
                involved = true;
                Set<String> others = othersByField.computeIfAbsent(String.valueOf(note.getField()), f -> new TreeSet<>());
                for (String p : note.getPolicies()) {
                    if (!policyName.equals(p)) {
                        others.add(p);
                    }
                }
            }
            if (involved) {
                nodes++;
            }
        }

        Condition condition(Long generation) {
            if (othersByField.isEmpty()) {
                return Conditions.of(CONFLICT, false, REASON_NO_CONFLICT, "No policy of equal priority sets a field differently", generation);
            }
            List<String> mentions = new ArrayList<>();
            for (Map.Entry<String, Set<String>> e : othersByField.entrySet()) {
                mentions.add(e.getKey() + " (with " + names(new ArrayList<>(e.getValue())) + ")");
            }
            String shown = String.join(", ", mentions.subList(0, Math.min(mentions.size(), CONFLICT_MENTIONS)));
            if (mentions.size() > CONFLICT_MENTIONS) {
                shown += " and " + (mentions.size() - CONFLICT_MENTIONS) + " more";
            }
            return Conditions.of(CONFLICT, true, REASON_EQUAL_PRIORITY_CONFLICT,
                    cap("Policies of equal priority set different values on " + nodes(nodes) + ": " + shown
                            + "; the alphabetically first policy wins"), generation);
        }
    }
}
