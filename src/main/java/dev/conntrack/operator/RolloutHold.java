package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicySpec;
import dev.conntrack.api.PolicySnapshot;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * For one node: which version of each selecting policy its spec is built from. A node takes a
 * policy's current generation when it already has it, when the rollout admitted it, when batching
 * is off ("100%"), or when the new generation does not change the settings it has (e.g. only the
 * rollout parameters or the selector were edited). Otherwise it keeps being built from the
 * snapshot it has; a node without a snapshot (new policy, new node) gets nothing of the policy
 * until it is admitted: a first-time rollout is batched like any other.
 *
 * <p>The snapshots live in the node state spec (not in the policy status) because each node then
 * carries exactly the version it was built from whatever edits interleave with a rollout, and the
 * policy status stays small at any fleet size. Pure and thread-safe.
 */
public final class RolloutHold {

    /** Whether the rollout admitted the node to the policy's generation. */
    @FunctionalInterface
    public interface Admissions {
        boolean mayAdvance(String policy, long generation, String node);
    }

    /** The policies to merge (current ones, or stand-ins built from snapshots) and the snapshots to store. */
    public record Result(List<ConntrackPolicy> policies, Map<String, PolicySnapshot> snapshots) {
    }

    private RolloutHold() {
    }

    public static Result choose(Node node, Collection<ConntrackPolicy> policies, ConntrackNodeStateSpec existing,
            Admissions admissions, Instant now) {
        String nodeName = node.getMetadata().getName();
        String stamp = now.truncatedTo(ChronoUnit.SECONDS).toString();
        Map<String, PolicySnapshot> had = existing == null || existing.getPolicySnapshots() == null
                ? Map.of() : existing.getPolicySnapshots();
        Map<String, Long> hadGenerations = existing == null || existing.getPolicyGenerations() == null
                ? Map.of() : existing.getPolicyGenerations();

        List<ConntrackPolicy> effective = new ArrayList<>();
        Map<String, PolicySnapshot> snapshots = new TreeMap<>();
        for (ConntrackPolicy p : policies) {
            if (p == null || p.getSpec() == null || PolicyMerger.deleting(p) || !NodeSelectorMatcher.selects(p, node)) {
                continue;
            }
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
        return new Result(effective, snapshots);
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

    private static long generation(ConntrackPolicy p) {
        Long generation = p.getMetadata() == null ? null : p.getMetadata().getGeneration();
        return generation == null ? 0L : generation;
    }
}
