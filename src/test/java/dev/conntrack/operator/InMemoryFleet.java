package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The operator's rollout loop without a cluster: planner, gate, hold, merger and aggregator wired
 * the way the reconcilers wire them, over node states kept in a map, with agents that report
 * whatever the test tells them. One {@link #step} is one policy reconcile followed by the node
 * reconciles it triggers and the agents' next reports.
 */
final class InMemoryFleet {
    final Map<String, Node> nodes = new TreeMap<>();
    final Map<String, ConntrackNodeState> states = new TreeMap<>();
    final Set<String> degradedAgents = new HashSet<>();
    final Set<String> silentAgents = new HashSet<>();
    final RolloutGate gate = new RolloutGate();
    private final RolloutPlanner planner = new RolloutPlanner();
    private final PolicyMerger merger = new PolicyMerger();
    private final PolicyStatusAggregator aggregator = new PolicyStatusAggregator();
    ConntrackPolicy policy;
    Instant now = Instant.parse("2026-03-01T10:00:00Z");
    int maxInFlightSeen;

    InMemoryFleet(int size) {
        for (int i = 0; i < size; i++) {
            addNode(String.format("node-%04d", i));
        }
    }

    void addNode(String name) {
        nodes.put(name, new NodeBuilder().withNewMetadata().withName(name).endMetadata().build());
        ConntrackNodeState state = new ConntrackNodeState();
        state.getMetadata().setName(name);
        state.getMetadata().setGeneration(1L);
        state.setSpec(new ConntrackNodeStateSpec());
        states.put(name, state);
    }

    void removeNode(String name) {
        nodes.remove(name);
        states.remove(name);
    }

    /** The user edits the policy: a new generation (status kept, as the API server does). */
    void apply(ConntrackPolicy edited) {
        long generation = policy == null ? 1 : policy.getMetadata().getGeneration() + 1;
        edited.getMetadata().setGeneration(generation);
        if (policy != null) {
            edited.setStatus(policy.getStatus());
            edited.getMetadata().setAnnotations(policy.getMetadata().getAnnotations());
        }
        policy = edited;
        reconcileNodes(); // the node reconciler sees the spec change first
    }

    void step() {
        now = now.plusSeconds(1);
        long generation = policy.getMetadata().getGeneration();
        List<RolloutNode> views = new ArrayList<>();
        for (String name : nodes.keySet()) {
            views.add(RolloutNode.of(states.get(name), PolicyMerger.name(policy)));
        }
        RolloutPlanner.Plan plan = planner.plan(policy, views, gate.admitted(PolicyMerger.name(policy), generation), now);
        gate.admit(PolicyMerger.name(policy), generation, plan.admit());
        aggregator.aggregate(policy, List.copyOf(states.values()), now, plan.status()).ifPresent(policy::setStatus);
        reconcileNodes();
        maxInFlightSeen = Math.max(maxInFlightSeen, inFlight());
        report();
    }

    /** Nodes whose spec carries the policy's current generation and whose agent has not reported that spec yet. */
    int inFlight() {
        long generation = policy.getMetadata().getGeneration();
        int n = 0;
        for (ConntrackNodeState s : states.values()) {
            Long carried = s.getSpec().getPolicyGenerations() == null ? null : s.getSpec().getPolicyGenerations().get(PolicyMerger.name(policy));
            boolean reported = s.getStatus() != null && s.getMetadata().getGeneration().equals(s.getStatus().getObservedGeneration());
            boolean finished = reported && (Conditions.isTrue(s.getStatus().getConditions(), "Applied")
                    || Conditions.isTrue(s.getStatus().getConditions(), "Degraded"));
            if (carried != null && carried == generation && !finished) {
                n++;
            }
        }
        return n;
    }

    int carrying(long generation) {
        return (int) states.values().stream().filter(s -> s.getSpec().getPolicyGenerations() != null
                && Long.valueOf(generation).equals(s.getSpec().getPolicyGenerations().get(PolicyMerger.name(policy)))).count();
    }

    Integer max(String node) {
        ConntrackNodeStateSpec spec = states.get(node).getSpec();
        return spec.getConntrack() == null ? null : spec.getConntrack().getMax();
    }

    private void reconcileNodes() {
        for (Node node : nodes.values()) {
            ConntrackNodeState state = states.get(node.getMetadata().getName());
            RolloutHold.Result chosen = RolloutHold.choose(node, List.of(policy), state.getSpec(), gate::mayAdvance, now);
            ConntrackNodeStateSpec desired = merger.resolve(node, chosen.policies());
            desired.setPolicySnapshots(chosen.snapshots());
            if (!PolicyMerger.sameSpec(state.getSpec(), desired)) {
                state.setSpec(desired);
                state.getMetadata().setGeneration(state.getMetadata().getGeneration() + 1);
            }
        }
    }

    /** Every agent reports the spec it has now: Applied, or Degraded for the ones told to fail. */
    private void report() {
        for (ConntrackNodeState state : states.values()) {
            String name = state.getMetadata().getName();
            Long generation = state.getMetadata().getGeneration();
            if (silentAgents.contains(name)
                    || (state.getStatus() != null && generation.equals(state.getStatus().getObservedGeneration())
                            && degradedAgents.contains(name) == Conditions.isTrue(state.getStatus().getConditions(), "Degraded"))) {
                continue;
            }
            boolean degraded = degradedAgents.contains(name);
            ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
            status.setObservedGeneration(generation);
            status.setConditions(Conditions.merge(state.getStatus() == null ? null : state.getStatus().getConditions(), List.of(
                    Conditions.of("Applied", !degraded, degraded ? "WriteRefused" : "SettingsApplied", "", generation),
                    Conditions.of("Degraded", degraded, degraded ? "WriteRefused" : "AsExpected", "", generation),
                    Conditions.of("TableFull", false, "NoDrops", "", generation),
                    Conditions.of("Pressure", false, "UsageNormal", "", generation)), now));
            state.setStatus(status);
        }
    }
}
