package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.api.NodeSummary;
import dev.conntrack.api.RolloutStatus;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

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
    public static final String REASON_HELD_BY_OBSERVE_ONLY = "HeldByObserveOnly";
    public static final String REASON_INVALID_SETTINGS = "InvalidSettings";

    // Node state condition types the agent writes (the contract in dev.conntrack.api), reused as NodeSummary reasons.
    public static final String NODE_APPLIED = NodeConditionTypes.APPLIED;
    public static final String NODE_DEGRADED = NodeConditionTypes.DEGRADED;
    public static final String NODE_PRESSURE = NodeConditionTypes.PRESSURE;
    public static final String NODE_TABLE_FULL = NodeConditionTypes.TABLE_FULL;
    public static final String NODE_NOT_APPLIED = "NotApplied";
    public static final String NODE_AGENT_SILENT = "AgentSilent";
    /** Three missed heartbeats (60 s each): the agent is gone, whatever its last status said. */
    public static final Duration SILENT_AFTER = Duration.ofMinutes(3);
    /**
     * A node counts as dropping while its status.lastTableFullTime is this recent, even once its
     * TableFull condition is False again: the roll-up runs at most once a second per policy, so a
     * shorter drop spell would otherwise never show in the policy.
     */
    public static final Duration DROPPED_RECENTLY = Duration.ofSeconds(30);

    public static final int MAX_WORST_NODES = 5;
    /** Condition messages are for humans; past this they stop helping and start bloating etcd. */
    public static final int MAX_MESSAGE_CHARS = 1024;

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
     * policies also get the {@link FleetAuditor} audit. An Enforce policy on nodes a higher-priority
     * ObserveOnly policy keeps observing is not Ready ({@value #REASON_HELD_BY_OBSERVE_ONLY}).
     */
    public Optional<ConntrackPolicyStatus> aggregate(ConntrackPolicy policy, Collection<ConntrackNodeState> statesSelectingIt,
            Instant now, RolloutStatus rollout) {
        return aggregate(policy, statesSelectingIt, now, rollout, List.of());
    }

    /**
     * As above, for a policy whose values break the CRD's rules ({@link PolicyValidator}): Ready,
     * Progressing and Stalled say {@value #REASON_INVALID_SETTINGS} and what is wrong; its nodes keep
     * what they had of it.
     */
    public Optional<ConntrackPolicyStatus> aggregate(ConntrackPolicy policy, Collection<ConntrackNodeState> statesSelectingIt,
            Instant now, RolloutStatus rollout, List<String> problems) {
        Long generation = policy.getMetadata() == null ? null : policy.getMetadata().getGeneration();
        String policyName = PolicyMerger.name(policy);
        boolean enforcing = policy.getSpec() == null || policy.getSpec().getMode() != Mode.ObserveOnly;

        PolicyConditions.Tally tally = new PolicyConditions.Tally();
        List<PolicyNodeView> listed = new ArrayList<>();
        ConflictSummary conflicts = new ConflictSummary(policyName);
        for (ConntrackNodeState state : statesSelectingIt) {
            PolicyNodeView node = PolicyNodeView.of(state, policyName, generation, enforcing, now);
            tally.add(node);
            if (node.rank < PolicyNodeView.FINE) {
                listed.add(node);
            }
            conflicts.add(state);
        }

        Condition ready = problems.isEmpty() ? PolicyConditions.ready(tally, generation)
                : PolicyConditions.invalid(READY, problems, generation);
        Condition progressing = problems.isEmpty() ? PolicyConditions.progressing(tally, generation, rollout)
                : PolicyConditions.invalid(PROGRESSING, problems, generation);
        List<Condition> fresh = List.of(
                ready,
                progressing,
                PolicyConditions.degraded(tally, generation),
                conflicts.condition(generation),
                PolicyConditions.reconciling(progressing, generation),
                PolicyConditions.stalled(ready, progressing, generation));

        ConntrackPolicyStatus previous = policy.getStatus();
        ConntrackPolicyStatus status = new ConntrackPolicyStatus();
        status.setObservedGeneration(generation);
        status.setConditions(Conditions.merge(previous == null ? null : previous.getConditions(), fresh, now));
        status.setNodes(tally.counts);
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

    /** Nodes in trouble, worst first: dropping (by drop rate), under pressure (by usage), degraded, not applied. */
    private static List<NodeSummary> worst(List<PolicyNodeView> listed) {
        listed.sort(PolicyNodeView.WORST_FIRST);
        List<NodeSummary> worst = new ArrayList<>(Math.min(listed.size(), MAX_WORST_NODES));
        for (PolicyNodeView node : listed.subList(0, Math.min(listed.size(), MAX_WORST_NODES))) {
            worst.add(node.summary());
        }
        return worst;
    }
}
