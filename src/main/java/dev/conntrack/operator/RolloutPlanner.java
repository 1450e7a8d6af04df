package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.PolicySnapshot;
import dev.conntrack.api.RolloutSpec;
import dev.conntrack.api.RolloutStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides which selected nodes may take a policy's current generation now. Pure: everything it
 * knows comes in as arguments (the policy with its previous rollout status, one {@link NodeView}
 * per selected node, the nodes admitted earlier whose specs the cache may not show yet), so the
 * decision survives an operator restart and can be tested without a cluster.
 *
 * <p>Rules:
 * <ul>
 * <li>A node is <em>in flight</em> when it took the current generation (or was admitted to) and its
 *     agent has not reported the node state's current generation yet. It is <em>updated</em> once it
 *     reported Applied, <em>failed</em> once it reported Degraded.</li>
 * <li>At most {@code maxUnavailable} nodes are in flight: an int, or a percentage of the selected
 *     nodes rounded up (like a DaemonSet's maxUnavailable), at least 1. Pending nodes are admitted by
 *     name, so batches are deterministic.</li>
 * <li>With pauseOnDegraded, a node that took the current generation and turned Degraded or TableFull
 *     at or after taking it (and after the last resume) pauses the rollout. A pause sticks until
 *     the resume annotation gets a new value or the policy gets a new generation (a new rollout,
 *     e.g. the revert that fixes it).</li>
 * <li>A node that a higher-priority ObserveOnly policy keeps observing is <em>held</em> for an
 *     Enforce policy: it takes the generation at once and writes none of it, so it is neither
 *     admitted nor counted in flight. When the observer leaves, it is pending like any other and
 *     goes in a batch: a move towards enforcing always waits for the rollout.</li>
 * <li>Nothing is admitted before the policy's version has been known for the settle window.</li>
 * </ul>
 */
public final class RolloutPlanner {
    /** Set to any new value to resume a paused rollout. */
    public static final String RESUME_ANNOTATION = "conntrack.dev/resume-rollout";
    public static final int MAX_PAUSED_NAMES = 5;

    /** Nodes to admit now, and the rollout status describing the state after admitting them. */
    public record Plan(Set<String> admit, RolloutStatus status) {
    }

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
    public record NodeView(String name, Long specGeneration, Instant since, boolean reported, boolean applied,
            boolean degraded, Instant degradedSince, boolean tableFull, Instant tableFullSince,
            boolean observing, boolean targetObserving) {

        public static NodeView of(ConntrackNodeState state, String policyName, boolean targetObserving) {
            String name = state.getMetadata() == null ? "" : state.getMetadata().getName();
            ConntrackNodeStateSpec spec = state.getSpec();
            Map<String, Long> generations = spec == null ? null : spec.getPolicyGenerations();
            Long specGeneration = generations == null ? null : generations.get(policyName);
            Map<String, PolicySnapshot> snapshots = spec == null ? null : spec.getPolicySnapshots();
            PolicySnapshot snapshot = snapshots == null ? null : snapshots.get(policyName);
            Instant since = snapshot == null ? null : Timestamps.parse(snapshot.getSince());

            ConntrackNodeStateStatus status = state.getStatus();
            Long generation = state.getMetadata() == null ? null : state.getMetadata().getGeneration();
            boolean reported = status != null && generation != null && generation.equals(status.getObservedGeneration());
            List<Condition> conditions = status == null ? null : status.getConditions();
            Condition degraded = trueCondition(conditions, PolicyStatusAggregator.NODE_DEGRADED);
            Condition tableFull = trueCondition(conditions, PolicyStatusAggregator.NODE_TABLE_FULL);
            return new NodeView(name, specGeneration, since, reported,
                    Conditions.isTrue(conditions, PolicyStatusAggregator.NODE_APPLIED),
                    degraded != null, degraded == null ? null : Timestamps.parse(degraded.getLastTransitionTime()),
                    tableFull != null, tableFull == null ? null : Timestamps.parse(tableFull.getLastTransitionTime()),
                    spec != null && spec.getMode() == Mode.ObserveOnly, targetObserving);
        }

        /** A selected Node whose node state does not exist yet: it carries nothing and has reported nothing. */
        public static NodeView withoutState(String name, boolean targetObserving) {
            return new NodeView(name, null, null, false, false, false, null, false, null, false, targetObserving);
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

        private static Condition trueCondition(List<Condition> conditions, String type) {
            Condition c = Conditions.find(conditions, type);
            return c != null && Conditions.TRUE.equals(c.getStatus()) ? c : null;
        }
    }

    /**
     * @param unsettled how long the policy's current version still has to wait for the settle
     *                  window ({@link RolloutGate}); nothing is admitted before it is zero
     */
    public Plan plan(ConntrackPolicy policy, Collection<NodeView> nodes, Set<String> admittedEarlier, Instant now,
            Duration unsettled) {
        long generation = generation(policy);
        RolloutSpec rollout = policy.getSpec() == null ? null : policy.getSpec().getRollout();
        boolean pauseOnDegraded = pauseOnDegraded(rollout);
        boolean enforcing = policy.getSpec() == null || policy.getSpec().getMode() != Mode.ObserveOnly;
        RolloutStatus previous = policy.getStatus() == null ? null : policy.getStatus().getRollout();
        String stamp = now.truncatedTo(ChronoUnit.SECONDS).toString();

        // Resume: a new annotation value acknowledges every trouble that began before now.
        String resumedWith = previous == null ? null : previous.getResumedWith();
        String resumedAt = previous == null ? null : previous.getResumedAt();
        String annotation = resumeAnnotation(policy);
        boolean resumeNow = annotation != null && !annotation.equals(resumedWith);
        if (resumeNow) {
            resumedWith = annotation;
            resumedAt = stamp;
        }
        Instant resumedInstant = Timestamps.parse(resumedAt);

        int updated = 0;
        int failed = 0;
        int inFlight = 0;
        int observedAtOnce = 0;
        int held = 0;
        TreeSet<String> pending = new TreeSet<>();
        TreeSet<String> troubled = new TreeSet<>();
        for (NodeView node : nodes) {
            if (node.targetObserving() && enforcing) {
                // A higher-priority ObserveOnly policy decides the node's mode: it takes this
                // generation at once and writes none of it; nothing to admit until the observer leaves.
                held++;
                continue;
            }
            boolean took = node.took(generation);
            if (!took && node.targetObserving()) {
                observedAtOnce++; // taken without a batch: observing writes nothing
                continue;
            }
            if (!took && !admittedEarlier.contains(node.name())) {
                pending.add(node.name());
                continue;
            }
            if (took && node.reported() && node.applied()) {
                updated++;
            } else if (took && node.reported() && node.degraded()) {
                failed++;
            } else {
                inFlight++;
            }
            // Only a node that actually took this generation can have been hurt by it.
            if (took && pauseOnDegraded && node.troubledSince(latest(node.since(), resumedInstant))) {
                troubled.add(node.name());
            }
        }

        boolean stuck = previous != null && previous.isPaused() && previous.getGeneration() != null
                && previous.getGeneration() == generation && !resumeNow;
        boolean paused = pauseOnDegraded && (stuck || !troubled.isEmpty());
        int budget = maxUnavailable(rollout, nodes.size());

        Set<String> admit = new LinkedHashSet<>();
        // Unbatched ("100%"): the node reconciler advances every node by itself; admissions would
        // only re-run it for nodes whose new spec the cache does not show yet.
        if (!paused && !unbatched(rollout) && unsettled.isZero()) {
            for (String name : pending) {
                if (inFlight + admit.size() >= budget) {
                    break;
                }
                admit.add(name);
            }
        }

        RolloutStatus status = new RolloutStatus();
        status.setGeneration(generation);
        status.setMaxUnavailable(budget);
        status.setUpdatedNodes(updated);
        status.setFailedNodes(failed);
        status.setHeldNodes(held);
        int advancing = unbatched(rollout) && !paused ? pending.size() : admit.size();
        status.setInFlightNodes(inFlight + observedAtOnce + advancing);
        status.setPendingNodes(pending.size() - advancing);
        if (paused) {
            status.setPaused(true);
            List<String> names = !troubled.isEmpty() ? firstNames(troubled)
                    : previous.getPausedNodes() == null ? List.of() : previous.getPausedNodes();
            status.setPausedNodes(names.isEmpty() ? null : names);
            status.setPausedAt(stuck && previous.getPausedAt() != null ? previous.getPausedAt() : stamp);
        }
        status.setResumedWith(resumedWith);
        status.setResumedAt(resumedAt);
        return new Plan(admit, status);
    }

    /**
     * How many nodes may be in flight: an int as given, a percentage of {@code selected} rounded
     * up; at least 1, so that a rollout always moves. Absent means {@value RolloutSpec#DEFAULT_MAX_UNAVAILABLE}.
     */
    public static int maxUnavailable(RolloutSpec rollout, int selected) {
        IntOrString value = rollout == null || rollout.getMaxUnavailable() == null
                ? new IntOrString(RolloutSpec.DEFAULT_MAX_UNAVAILABLE) : rollout.getMaxUnavailable();
        int budget;
        if (value.getIntVal() != null) {
            budget = value.getIntVal();
        } else {
            int percent = percent(value.getStrVal());
            budget = (int) Math.min(Integer.MAX_VALUE, ((long) selected * percent + 99) / 100);
        }
        return Math.max(1, budget);
    }

    /** "100%": every node may take the new settings at once, no planning needed. */
    public static boolean unbatched(RolloutSpec rollout) {
        IntOrString value = rollout == null ? null : rollout.getMaxUnavailable();
        return value != null && value.getStrVal() != null && percent(value.getStrVal()) >= 100;
    }

    public static boolean pauseOnDegraded(RolloutSpec rollout) {
        return rollout == null || rollout.getPauseOnDegraded() == null || rollout.getPauseOnDegraded();
    }

    static String resumeAnnotation(ConntrackPolicy policy) {
        Map<String, String> annotations = policy.getMetadata() == null ? null : policy.getMetadata().getAnnotations();
        return annotations == null ? null : annotations.get(RESUME_ANNOTATION);
    }

    /** "10%" -> 10; what the CRD's CEL rule lets through, anything else (defensively) -> the default 10. */
    private static int percent(String text) {
        String digits = text == null ? "" : text.trim();
        if (digits.endsWith("%")) {
            digits = digits.substring(0, digits.length() - 1);
        }
        try {
            int percent = Integer.parseInt(digits);
            return percent >= 1 && percent <= 100 ? percent : 10;
        } catch (NumberFormatException e) {
            return 10;
        }
    }

    private static long generation(ConntrackPolicy policy) {
        Long generation = policy.getMetadata() == null ? null : policy.getMetadata().getGeneration();
        return generation == null ? 0L : generation;
    }

    private static Instant latest(Instant a, Instant b) {
        if (a == null) {
            return b == null ? Instant.EPOCH : b;
        }
        return b == null || a.isAfter(b) ? a : b;
    }

    private static List<String> firstNames(TreeSet<String> names) {
        List<String> first = new ArrayList<>(MAX_PAUSED_NAMES);
        for (String name : names) {
            if (first.size() == MAX_PAUSED_NAMES) {
                break;
            }
            first.add(name);
        }
        return first;
    }
}
