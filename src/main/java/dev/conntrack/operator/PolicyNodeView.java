package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.DropCounters;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeSummary;
import dev.conntrack.api.TableUsage;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** What the roll-up of one policy needs of one selected node state. */
final class PolicyNodeView {
    static final int TABLE_FULL = 0;
    static final int PRESSURE = 1;
    static final int DEGRADED = 2;
    static final int NOT_APPLIED = 3;
    static final int FINE = 4;

    static final Comparator<PolicyNodeView> WORST_FIRST = Comparator
            .comparingInt((PolicyNodeView n) -> n.rank)
            .thenComparingDouble(n -> n.rank == TABLE_FULL ? -n.dropsPerSecond : 0.0)
            .thenComparingDouble(n -> n.rank <= PRESSURE ? -n.usage : 0.0)
            .thenComparing(n -> n.name);

    /** Why a node that is neither applied, failed nor held has not applied the policy's generation. */
    enum Waiting {
        /** Its spec does not carry the generation yet: its rollout batch (or the settle window) has not come. */
        FOR_ROLLOUT("waits for its rollout batch", "wait for their rollout batch"),
        /** Its spec carries it, its agent has not reported that spec yet. */
        FOR_AGENT("has not reported it yet", "have not reported it yet"),
        /** Its agent has not written a status for longer than {@link PolicyStatusAggregator#SILENT_AFTER}. */
        AGENT_SILENT("has a silent agent", "have a silent agent"),
        /** Its agent reported the spec and Applied is not True (e.g. AgentObserveOnly, ExternalOverride). */
        NOT_APPLIED("reports Applied=False", "report Applied=False");

        private final String one;
        private final String many;

        Waiting(String one, String many) {
            this.one = one;
            this.many = many;
        }

        String text(int nodes) {
            return nodes == 1 ? one : many;
        }
    }

    final String name;
    final ConntrackNodeStateStatus status;
    final boolean applied;
    final boolean silent;
    final boolean degraded;
    final boolean pressure;
    final boolean tableFull;
    /** A higher-priority ObserveOnly policy sets the node's mode: this Enforce policy writes nothing there. */
    final boolean held;
    /** The policy that decides the node's mode (spec.sources["mode"]), named when it holds this one. */
    final String modeSource;
    /** Null when applied, failed or held. */
    final Waiting waiting;
    /** The agent's Applied reason when it reported the generation without applying it. */
    final String appliedReason;
    final int rank;
    final double dropsPerSecond;
    final double usage;

    private PolicyNodeView(String name, ConntrackNodeState state, boolean specCurrent, boolean enforcing, Instant now) {
        this.name = name;
        this.status = state.getStatus();
        ConntrackNodeStateSpec spec = state.getSpec();
        Long generation = state.getMetadata() == null ? null : state.getMetadata().getGeneration();
        this.silent = silentSince(status, now);
        List<Condition> conditions = status == null ? null : status.getConditions();
        boolean reported = status != null && status.getObservedGeneration() != null && status.getObservedGeneration().equals(generation);
        this.held = specCurrent && enforcing && spec != null && spec.getMode() == Mode.ObserveOnly;
        this.modeSource = spec == null || spec.getSources() == null ? null : spec.getSources().get("mode");
        // Applied only counts when the node spec already carries this policy's generation, the agent
        // reports the spec generation the node state has now, and the node enforces (or the policy
        // itself only observes): an observing node has written nothing of an Enforce policy.
        Condition appliedCondition = Conditions.find(conditions, PolicyStatusAggregator.NODE_APPLIED);
        this.applied = specCurrent && !silent && reported && !held && Conditions.isTrue(conditions, PolicyStatusAggregator.NODE_APPLIED);
        this.degraded = Conditions.isTrue(conditions, PolicyStatusAggregator.NODE_DEGRADED);
        this.pressure = Conditions.isTrue(conditions, PolicyStatusAggregator.NODE_PRESSURE);
        // Also a drop spell shorter than the roll-up's rate limit: TableFull may be False again by the
        // time the roll-up runs, status.lastTableFullTime still says it happened.
        this.tableFull = Conditions.isTrue(conditions, PolicyStatusAggregator.NODE_TABLE_FULL) || droppedRecently(status, now);
        // A held node is where the user put it (under an audit), not in trouble.
        this.rank = tableFull ? TABLE_FULL : pressure ? PRESSURE : degraded ? DEGRADED : !applied && !held ? NOT_APPLIED : FINE;
        if (applied || degraded || held) {
            this.waiting = null;
        } else if (!specCurrent) {
            this.waiting = Waiting.FOR_ROLLOUT;
        } else if (silent) {
            this.waiting = Waiting.AGENT_SILENT;
        } else if (!reported) {
            this.waiting = Waiting.FOR_AGENT;
        } else {
            this.waiting = Waiting.NOT_APPLIED;
        }
        this.appliedReason = appliedCondition == null ? null : appliedCondition.getReason();
        DropCounters counters = status == null ? null : status.getCounters();
        TableUsage table = status == null ? null : status.getUsage();
        this.dropsPerSecond = counters == null || counters.getDropsPerSecond() == null ? 0 : counters.getDropsPerSecond();
        this.usage = table == null || table.getUsagePercent() == null ? 0 : table.getUsagePercent();
    }

    /**
     * @param enforcing the policy's mode is Enforce: on a node a higher-priority ObserveOnly policy
     *                  keeps observing it is held, not applied
     */
    static PolicyNodeView of(ConntrackNodeState state, String policyName, Long policyGeneration, boolean enforcing, Instant now) {
        String name = state.getMetadata() == null || state.getMetadata().getName() == null ? "" : state.getMetadata().getName();
        Map<String, Long> built = state.getSpec() == null ? null : state.getSpec().getPolicyGenerations();
        boolean specCurrent = built != null && policyGeneration != null && policyGeneration.equals(built.get(policyName));
        return new PolicyNodeView(name, state, specCurrent, enforcing, now);
    }

    private static boolean droppedRecently(ConntrackNodeStateStatus status, Instant now) {
        Instant last = status == null ? null : Timestamps.parse(status.getLastTableFullTime());
        return last != null && !last.isBefore(now.minus(PolicyStatusAggregator.DROPPED_RECENTLY));
    }


    private static boolean silentSince(ConntrackNodeStateStatus status, Instant now) {
        Instant heartbeat = status == null ? null : Timestamps.parse(status.getHeartbeatTime());
        return heartbeat != null && heartbeat.isBefore(now.minus(PolicyStatusAggregator.SILENT_AFTER));
    }

    NodeSummary summary() {
        NodeSummary s = new NodeSummary();
        s.setName(name);
        s.setReason(switch (rank) {
            case TABLE_FULL -> PolicyStatusAggregator.NODE_TABLE_FULL;
            case PRESSURE -> PolicyStatusAggregator.NODE_PRESSURE;
            case DEGRADED -> PolicyStatusAggregator.NODE_DEGRADED;
            default -> silent ? PolicyStatusAggregator.NODE_AGENT_SILENT : PolicyStatusAggregator.NODE_NOT_APPLIED;
        });
        TableUsage table = status == null ? null : status.getUsage();
        if (table != null) {
            s.setUsagePercent(oneDecimal(table.getUsagePercent()));
            s.setEntries(table.getEntries());
            s.setMax(table.getMax());
        }
        DropCounters counters = status == null ? null : status.getCounters();
        if (counters != null) {
            s.setDropsPerSecond(oneDecimal(counters.getDropsPerSecond()));
            s.setDrops(counters.getDrop());
        }
        return s;
    }

    private static Double oneDecimal(Double value) {
        // Rounded so that noise in the last digits does not rewrite the status.
        return value == null ? null : Math.round(value * 10.0) / 10.0;
    }
}
