package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.testing.SettableClock;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The operator's rollout loop without a cluster: planner, gate (admissions and the settle window),
 * hold, merger and aggregator wired the way the reconcilers wire them, over node states kept in a
 * map, with agents that report whatever the test tells them. One {@link #step} is one second: one
 * reconcile of every policy, the node reconciles it triggers, and the agents' next reports.
 */
final class InMemoryFleet {
    final Map<String, Node> nodes = new TreeMap<>();
    final Map<String, ConntrackNodeState> states = new TreeMap<>();
    final Set<String> degradedAgents = new HashSet<>();
    final Set<String> silentAgents = new HashSet<>();
    final Map<String, ConntrackPolicy> policies = new LinkedHashMap<>();
    final SettableClock clock = new SettableClock(Instant.parse("2026-03-01T10:00:00Z"));
    private final Duration settle;
    RolloutGate gate;
    private final RolloutPlanner planner = new RolloutPlanner();
    private final PolicyMerger merger = new PolicyMerger();
    private final PolicyValidator validator = new PolicyValidator();
    private final PolicyStatusAggregator aggregator = new PolicyStatusAggregator();
    /** The policy the single-policy tests look at: the one applied last. */
    ConntrackPolicy policy;
    int maxInFlightSeen;
    /** Every spec the agents acted on that enforced while a current ObserveOnly policy of higher priority selected the node. */
    final List<String> enforcedUnderAnAudit = new ArrayList<>();
    /** Nodes whose agent enforced anything, in the order they first did. */
    final Set<String> everEnforced = new java.util.LinkedHashSet<>();

    /** A fleet whose operator judges every version settled at once (the rollout alone). */
    InMemoryFleet(int size) {
        this(size, Duration.ZERO);
    }

    InMemoryFleet(int size, Duration settle) {
        this.settle = settle;
        this.gate = new RolloutGate(settle, clock);
        for (int i = 0; i < size; i++) {
            addNode(String.format("node-%04d", i));
        }
    }

    Instant now() {
        return clock.instant();
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

    /** The user creates or edits a policy: a new generation (status kept, as the API server does). */
    void apply(ConntrackPolicy edited) {
        String name = PolicyMerger.name(edited);
        ConntrackPolicy old = policies.get(name);
        edited.getMetadata().setGeneration(old == null ? 1 : old.getMetadata().getGeneration() + 1);
        edited.getMetadata().setUid(old == null ? UUID.randomUUID().toString() : old.getMetadata().getUid());
        if (old != null) {
            edited.setStatus(old.getStatus());
            edited.getMetadata().setAnnotations(old.getMetadata().getAnnotations());
        }
        policies.put(name, edited);
        policy = edited;
        reconcileNodes(); // the node reconciler sees the spec change first
    }

    /** The user deletes a policy: deletion starts (a new generation), the finalizer goes once no spec has it. */
    void delete(String name) {
        ConntrackPolicy p = policies.get(name);
        p.getMetadata().setGeneration(p.getMetadata().getGeneration() + 1);
        p.getMetadata().setDeletionTimestamp(now().toString());
        gate.forget(name);
        reconcileNodes();
    }

    /** A restarted operator: nothing in memory survives, only the node specs. */
    void restartOperator() {
        gate = new RolloutGate(settle, clock);
    }

    void advance(Duration d) {
        clock.advance(d);
    }

    void step() {
        clock.advance(Duration.ofSeconds(1));
        for (ConntrackPolicy p : List.copyOf(policies.values())) {
            if (PolicyMerger.deleting(p)) {
                continue;
            }
            String name = PolicyMerger.name(p);
            long generation = p.getMetadata().getGeneration();
            List<RolloutPlanner.NodeView> views = new ArrayList<>();
            for (Node node : nodes.values()) {
                if (NodeSelectorMatcher.selects(p, node)) {
                    views.add(RolloutPlanner.NodeView.of(states.get(node.getMetadata().getName()), name, targetObserving(node)));
                }
            }
            RolloutPlanner.Plan plan = planner.plan(p, views, gate.admitted(name, generation), now(), gate.unsettled(p));
            gate.admit(name, generation, plan.admit());
            aggregator.aggregate(p, List.copyOf(states.values()), now(), plan.status()).ifPresent(p::setStatus);
        }
        reconcileNodes();
        maxInFlightSeen = Math.max(maxInFlightSeen, inFlight());
        report();
        // Finalizers: a deleted policy goes once no node spec carries it.
        policies.values().removeIf(p -> PolicyMerger.deleting(p) && states.values().stream()
                .noneMatch(s -> s.getSpec().getPolicies() != null && s.getSpec().getPolicies().contains(PolicyMerger.name(p))));
    }

    ConntrackPolicy policy(String name) {
        return policies.get(name);
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
        return carrying(PolicyMerger.name(policy), generation);
    }

    int carrying(String name, long generation) {
        return (int) states.values().stream().filter(s -> s.getSpec().getPolicyGenerations() != null
                && Long.valueOf(generation).equals(s.getSpec().getPolicyGenerations().get(name))).count();
    }

    /** Nodes whose spec enforces (mode Enforce) with this policy in it. */
    int enforcing(String name) {
        return (int) states.values().stream().filter(s -> s.getSpec().getMode() != Mode.ObserveOnly
                && s.getSpec().getPolicies() != null && s.getSpec().getPolicies().contains(name)).count();
    }

    Integer max(String node) {
        ConntrackNodeStateSpec spec = states.get(node).getSpec();
        return spec.getConntrack() == null ? null : spec.getConntrack().getMax();
    }

    private boolean targetObserving(Node node) {
        return PolicyMerger.mode(policies.values().stream()
                .filter(p -> !PolicyMerger.deleting(p) && NodeSelectorMatcher.selects(p, node)).toList()) == Mode.ObserveOnly;
    }

    void reconcileNodes() {
        List<ConntrackPolicy> all = List.copyOf(policies.values());
        all.forEach(gate::seen);
        for (Node node : nodes.values()) {
            ConntrackNodeState state = states.get(node.getMetadata().getName());
            RolloutHold.Result chosen = RolloutHold.choose(merger, node, all, state.getSpec(), gate, validator::valid, now());
            ConntrackNodeStateSpec desired = chosen.spec();
            if (desired != null && !PolicyMerger.sameSpec(state.getSpec(), desired)) {
                state.setSpec(desired);
                state.getMetadata().setGeneration(state.getMetadata().getGeneration() + 1);
            }
        }
    }

    /** Every agent reports the spec it has now: Applied (ObserveOnly when it observes), or Degraded for the ones told to fail. */
    private void report() {
        for (ConntrackNodeState state : states.values()) {
            String name = state.getMetadata().getName();
            Long generation = state.getMetadata().getGeneration();
            if (silentAgents.contains(name)
                    || (state.getStatus() != null && generation.equals(state.getStatus().getObservedGeneration())
                            && degradedAgents.contains(name) == Conditions.isTrue(state.getStatus().getConditions(), "Degraded"))) {
                continue;
            }
            boolean observing = state.getSpec().getMode() == Mode.ObserveOnly;
            if (!observing && state.getSpec().getConntrack() != null) {
                everEnforced.add(name);
                if (targetObserving(nodes.get(name))) {
                    enforcedUnderAnAudit.add(name + " enforced " + state.getSpec().getPolicies() + " at " + now());
                }
            }
            boolean degraded = degradedAgents.contains(name) && !observing;
            ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
            status.setObservedGeneration(generation);
            status.setConditions(Conditions.merge(state.getStatus() == null ? null : state.getStatus().getConditions(), List.of(
                    Conditions.of("Applied", !degraded, degraded ? "WriteRefused" : observing ? "ObserveOnly" : "SettingsApplied", "", generation),
                    Conditions.of("Degraded", degraded, degraded ? "WriteRefused" : "AsExpected", "", generation),
                    Conditions.of("TableFull", false, "NoDrops", "", generation),
                    Conditions.of("Pressure", false, "UsageNormal", "", generation)), now()));
            state.setStatus(status);
        }
    }
}
