package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicySpec;
import dev.conntrack.api.Mode;
import dev.conntrack.api.PolicySnapshot;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * For one node: the spec it moves to now. One rule decides it: a move towards observing is never
 * held back, a move towards enforcing waits for the rollout and for the settle window.
 *
 * <ol>
 * <li>When the policies selecting the node now give it mode ObserveOnly (a higher-priority
 *     ObserveOnly policy), the node takes every policy at its current generation at once: under
 *     ObserveOnly the agent writes nothing, not even originals back, so there is nothing to batch.</li>
 * <li>Otherwise each policy is taken at its current generation when the node already enforces that
 *     generation, when its rollout admitted the node, when batching is off ("100%"), or when the
 *     new generation changes none of the settings the node has; else the node keeps being built from
 *     the snapshot it has, and a node without one (new policy, new node) gets nothing of the policy
 *     until admitted.</li>
 * <li>A node that observes now and would enforce afterwards (the audit deleted, or edited to
 *     Enforce) leaves observing only when every policy it would enforce admitted it; until then its
 *     spec stays as it is, the audit included.</li>
 * <li>A change that leaves the node enforcing waits until every policy concerned (selecting it now,
 *     or in its spec) has been known for the settle window: a policy created just before an
 *     ObserveOnly one is never enforced before the audit arrives.</li>
 * </ol>
 *
 * <p>The snapshots live in the node state spec (not in the policy status) because each node then
 * carries exactly the version it was built from whatever edits interleave with a rollout, and the
 * policy status stays small at any fleet size. Pure and thread-safe.
 */
public final class RolloutHold {

    /** What the rollout allows: admissions by the policy's planner, and the settle window. */
    public interface Admissions {
        boolean mayAdvance(String policy, long generation, String node);

        /** Time until this version of the policy has been known for the settle window; zero once it has. */
        Duration unsettled(ConntrackPolicy policy);
    }

    /** Whether a policy's current version may go into node specs at all (its values pass the CRD's rules). */
    @FunctionalInterface
    public interface Validity {
        boolean valid(ConntrackPolicy policy);
    }

    /**
     * The spec the node moves to ({@code existing} itself while it is held; null when there is
     * none yet and nothing may be written), and when to look again if the settle window held it.
     */
    public record Result(ConntrackNodeStateSpec spec, Duration recheckAfter) {
    }

    private RolloutHold() {
    }

    public static Result choose(PolicyMerger merger, Node node, Collection<ConntrackPolicy> policies,
            ConntrackNodeStateSpec existing, Admissions admissions, Validity validity, Instant now) {
        String nodeName = node.getMetadata().getName();
        String stamp = now.truncatedTo(ChronoUnit.SECONDS).toString();
        Map<String, PolicySnapshot> had = existing == null || existing.getPolicySnapshots() == null
                ? Map.of() : existing.getPolicySnapshots();
        Set<String> standIns = new HashSet<>();
        List<ConntrackPolicy> selecting = selecting(node, policies, validity, had, standIns);

        if (PolicyMerger.mode(selecting) == Mode.ObserveOnly) {
            Map<String, PolicySnapshot> snapshots = new TreeMap<>();
            for (ConntrackPolicy p : selecting) {
                PolicySnapshot snapshot = had.get(PolicyMerger.name(p));
                boolean same = snapshot != null && snapshot.getGeneration() != null && snapshot.getGeneration() == generation(p);
                snapshots.put(PolicyMerger.name(p), snapshotOf(p, same && snapshot.getSince() != null ? snapshot.getSince() : stamp));
            }
            return new Result(build(merger, node, selecting, snapshots), null);
        }

        List<ConntrackPolicy> effective = new ArrayList<>();
        Map<String, PolicySnapshot> snapshots = new TreeMap<>();
        if (existing != null && existing.getMode() == Mode.ObserveOnly) {
            for (ConntrackPolicy p : selecting) {
                // A stand-in for an invalid version (its last valid snapshot) has no rollout to admit it.
                if (!standIns.contains(PolicyMerger.name(p)) && !RolloutPlanner.unbatched(p.getSpec().getRollout())
                        && !admissions.mayAdvance(PolicyMerger.name(p), generation(p), nodeName)) {
                    return new Result(existing, null);
                }
                effective.add(p);
                snapshots.put(PolicyMerger.name(p), snapshotOf(p, stamp));
            }
        } else {
            chooseEach(selecting, existing, had, nodeName, admissions, stamp, effective, snapshots);
        }

        ConntrackNodeStateSpec desired = build(merger, node, effective, snapshots);
        if (desired.getMode() != Mode.ObserveOnly && !PolicyMerger.sameSpec(existing, desired)) {
            Duration wait = unsettled(policies, selecting, existing, admissions);
            if (!wait.isZero()) {
                return new Result(existing, wait);
            }
        }
        return new Result(desired, null);
    }

    /** Rule 2, policy by policy, for a node that enforces now. */
    private static void chooseEach(List<ConntrackPolicy> selecting, ConntrackNodeStateSpec existing,
            Map<String, PolicySnapshot> had, String nodeName, Admissions admissions, String stamp,
            List<ConntrackPolicy> effective, Map<String, PolicySnapshot> snapshots) {
        Map<String, Long> hadGenerations = existing == null || existing.getPolicyGenerations() == null
                ? Map.of() : existing.getPolicyGenerations();
        for (ConntrackPolicy p : selecting) {
            String name = PolicyMerger.name(p);
            long generation = generation(p);
            PolicySnapshot snapshot = had.get(name);
            if (snapshot != null && snapshot.getGeneration() != null && snapshot.getGeneration() == generation) {
                effective.add(p);
                snapshots.put(name, snapshotOf(p, snapshot.getSince() != null ? snapshot.getSince() : stamp));
            } else if (RolloutPlanner.unbatched(p.getSpec().getRollout())
                    || admissions.mayAdvance(name, generation, nodeName)
                    || (snapshot != null && sameSettings(snapshot, p))
                    // Built by an operator that kept no snapshots: it already has this generation.
                    || (snapshot == null && Long.valueOf(generation).equals(hadGenerations.get(name)))) {
                effective.add(p);
                snapshots.put(name, snapshotOf(p, stamp));
            } else if (snapshot != null) {
                effective.add(policyFrom(name, snapshot));
                snapshots.put(name, snapshot);
            } else if (hadGenerations.containsKey(name)) {
                // An older generation without a snapshot (written before snapshots existed): there
                // is nothing to hold on to, and dropping the policy would restore the originals.
                effective.add(p);
                snapshots.put(name, snapshotOf(p, stamp));
            }
            // else: selected, never had it, not admitted yet: it waits for its batch.
        }
    }

    /** Rule 4: the longest wait among the policies selecting the node and those its spec was built from. */
    private static Duration unsettled(Collection<ConntrackPolicy> policies, List<ConntrackPolicy> selecting,
            ConntrackNodeStateSpec existing, Admissions admissions) {
        Set<String> inSpec = existing == null || existing.getPolicies() == null ? Set.of() : new HashSet<>(existing.getPolicies());
        Duration wait = Duration.ZERO;
        for (ConntrackPolicy p : policies) {
            if (p != null && p.getMetadata() != null && (selecting.contains(p) || inSpec.contains(PolicyMerger.name(p)))) {
                Duration left = admissions.unsettled(p);
                if (left.compareTo(wait) > 0) {
                    wait = left;
                }
            }
        }
        return wait;
    }

    /**
     * The policies selecting the node now. A policy whose current values are invalid takes no part
     * with them: the node keeps the version it had (a stand-in from its snapshot), or gets nothing of
     * it; its status says what is wrong, and the other policies still reach the node.
     */
    private static List<ConntrackPolicy> selecting(Node node, Collection<ConntrackPolicy> policies, Validity validity,
            Map<String, PolicySnapshot> had, Set<String> standIns) {
        List<ConntrackPolicy> selecting = new ArrayList<>();
        for (ConntrackPolicy p : policies) {
            if (p == null || p.getSpec() == null || PolicyMerger.deleting(p) || !NodeSelectorMatcher.selects(p, node)) {
                continue;
            }
            if (validity.valid(p)) {
                selecting.add(p);
            } else if (had.get(PolicyMerger.name(p)) != null) {
                selecting.add(policyFrom(PolicyMerger.name(p), had.get(PolicyMerger.name(p))));
                standIns.add(PolicyMerger.name(p));
            }
        }
        return selecting;
    }

    private static ConntrackNodeStateSpec build(PolicyMerger merger, Node node, List<ConntrackPolicy> effective,
            Map<String, PolicySnapshot> snapshots) {
        ConntrackNodeStateSpec spec = merger.resolve(node, effective);
        spec.setPolicySnapshots(snapshots);
        return spec;
    }

    /** The settings part of the policy at its current generation. */
    static PolicySnapshot snapshotOf(ConntrackPolicy p, String since) {
        PolicySnapshot s = settingsOf(p.getSpec());
        s.setGeneration(generation(p));
        s.setSince(since);
        return s;
    }

    /** True when the snapshot's settings equal the policy's current ones (generation and time aside). */
    static boolean sameSettings(PolicySnapshot snapshot, ConntrackPolicy p) {
        PolicySnapshot a = new PolicySnapshot();
        a.setPriority(snapshot.getPriority());
        a.setMode(snapshot.getMode());
        a.setDriftPolicy(snapshot.getDriftPolicy());
        a.setConntrack(snapshot.getConntrack());
        a.setMonitoring(snapshot.getMonitoring());
        return JsonTrees.same(a, settingsOf(p.getSpec()));
    }

    /** A stand-in policy carrying the snapshot's settings, for the merger; it selects this node by construction. */
    static ConntrackPolicy policyFrom(String name, PolicySnapshot snapshot) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName(name).withGeneration(snapshot.getGeneration()).build());
        ConntrackPolicySpec spec = new ConntrackPolicySpec();
        spec.setPriority(snapshot.getPriority());
        spec.setMode(snapshot.getMode());
        spec.setDriftPolicy(snapshot.getDriftPolicy());
        spec.setConntrack(snapshot.getConntrack());
        spec.setMonitoring(snapshot.getMonitoring());
        p.setSpec(spec);
        return p;
    }

    private static PolicySnapshot settingsOf(ConntrackPolicySpec spec) {
        PolicySnapshot s = new PolicySnapshot();
        s.setPriority(spec.getPriority());
        s.setMode(spec.getMode());
        s.setDriftPolicy(spec.getDriftPolicy());
        s.setConntrack(spec.getConntrack());
        s.setMonitoring(spec.getMonitoring());
        return s;
    }

    static long generation(ConntrackPolicy p) {
        Long generation = p.getMetadata() == null ? null : p.getMetadata().getGeneration();
        return generation == null ? 0L : generation;
    }
}
