package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.Mode;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.rate.RateLimited;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Rolls the node states of the nodes a policy selects up into the policy's status, plans the
 * rollout of its current generation ({@link RolloutPlanner}, admissions handed to the node
 * reconciler through the {@link RolloutGate}), and holds the policy's finalizer until its settings
 * have left every node spec.
 *
 * <p>Scale: every node state change maps to the policies selecting that node, and a roll-up walks
 * all selected nodes. At 5,000 nodes the agents' heartbeats alone are 80 events a second, so the
 * reconciler is rate limited to one run per policy per second: the operator SDK coalesces the
 * events of that second into one roll-up and at most one status patch.
 */
@ControllerConfiguration(name = ConntrackPolicyReconciler.NAME, finalizerName = OperatorLabels.FINALIZER,
        // Not generation-aware: the resume annotation must get through; ChangeFilters.PolicyUpdates keeps
        // our own status writes out instead.
        generationAwareEventProcessing = false,
        // comparableResourceVersions off: with it on, the operator SDK keeps the response of our own
        // status patch as the newest copy and drops every event older than it. A deletion or a spec
        // edit that lands while that patch is in flight is in the response, but its own event is
        // dropped and nothing reconciles it until the next re-check (up to a minute): a deleted
        // policy kept its finalizer that long. Our status writes are kept out by PolicyUpdates.
        informer = @Informer(onUpdateFilter = ChangeFilters.PolicyUpdates.class, itemStore = PrunedItemStore.Policies.class,
                comparableResourceVersions = false))
@RateLimited(maxReconciliations = 1, within = 1, unit = TimeUnit.SECONDS)
public class ConntrackPolicyReconciler implements Reconciler<ConntrackPolicy>, Cleaner<ConntrackPolicy> {
    public static final String NAME = "conntrackpolicy";
    private static final Logger LOG = Logger.getLogger(ConntrackPolicyReconciler.class);
    private static final long CLEANUP_RECHECK_MILLIS = 500;
    private static final long RECHECK_MILLIS = 60_000;

    private final PolicyStatusAggregator aggregator = new PolicyStatusAggregator();
    private final RolloutPlanner planner = new RolloutPlanner();
    private final Clock clock = Clock.systemUTC();
    private InformerEventSource<Node, ConntrackPolicy> nodes;
    private IndexerResourceCache<ConntrackPolicy> policies;

    @Inject
    RolloutGate gate;
    @Inject
    NodeStateCache states;
    @Inject
    PolicyValidator validator;
    @Inject
    AgentDaemonSetWatch agentDaemonSet;

    @Override
    public List<EventSource<?, ConntrackPolicy>> prepareEventSources(EventSourceContext<ConntrackPolicy> context) {
        policies = context.getPrimaryCache();
        // A node state change concerns the policies that select that node; a heartbeat that
        // carries nothing new concerns none.
        NodeStateEventSource<ConntrackPolicy> stateChanges = new NodeStateEventSource<>("nodestates", states,
                (old, state, deleted) -> old == null || deleted || ChangeFilters.moreThanHeartbeatChanged(state, old)
                        ? policiesSelecting(context, nodeOf(state.getMetadata().getName())) : Set.of());
        nodes = new InformerEventSource<>(InformerEventSourceConfiguration.from(Node.class, ConntrackPolicy.class)
                .withName("nodes")
                .withSecondaryToPrimaryMapper(node -> policiesSelecting(context, node))
                .withOnUpdateFilter(new ChangeFilters.NodeUpdates())
                .withItemStore(new PrunedItemStore<>(PrunedItemStore::node))
                .build(), context);
        return List.of(stateChanges, nodes);
    }

    @Override
    public UpdateControl<ConntrackPolicy> reconcile(ConntrackPolicy policy, Context<ConntrackPolicy> context) {
        Instant now = clock.instant();
        String name = PolicyMerger.name(policy);
        long generation = policy.getMetadata().getGeneration() == null ? 0L : policy.getMetadata().getGeneration();
        SelectedNodes selected = selectedNodes(policy, name);

        Duration unsettled = gate.unsettled(policy);
        List<String> problems = validator.problems(policy);
        RolloutPlanner.Plan plan = planner.plan(policy, selected.rollout, gate.admitted(name, generation), now, unsettled);
        if (!problems.isEmpty()) {
            LOG.debugf("Policy %s generation %d is invalid, no node takes it: %s", name, generation, problems);
        } else if (!plan.admit().isEmpty()) {
            LOG.debugf("Policy %s generation %d: admitting %d nodes", name, generation, plan.admit().size());
            gate.admit(name, generation, plan.admit());
        }

        Optional<ConntrackPolicyStatus> status = AgentPodsCondition.amend(policy.getStatus(),
                aggregator.aggregate(policy, selected.states, now, plan.status(), problems),
                AgentPodsCondition.of(agentDaemonSet.current(), policy.getMetadata().getGeneration()), now);
        // A silent agent sends no events: look again after a heartbeat to notice it. Sooner while a
        // generation settles (to admit when the window has passed) or nodes count as dropping
        // because of a recent drop (to stop counting them when it is no longer recent).
        long recheck = RECHECK_MILLIS;
        if (!unsettled.isZero()) {
            recheck = Math.min(recheck, unsettled.toMillis() + 1);
        }
        ConntrackPolicyStatus current = status.orElse(policy.getStatus());
        if (current != null && current.getNodes() != null && current.getNodes().getDropping() > 0) {
            recheck = Math.min(recheck, PolicyStatusAggregator.DROPPED_RECENTLY.toMillis());
        }
        if (status.isEmpty()) {
            return UpdateControl.<ConntrackPolicy>noUpdate().rescheduleAfter(recheck);
        }
        // Patch a fresh object carrying only identity and status: never write back the cached copy.
        ConntrackPolicy patch = new ConntrackPolicy();
        patch.setMetadata(new ObjectMetaBuilder().withName(name).build());
        patch.setSpec(null);
        patch.setStatus(status.get());
        return UpdateControl.patchStatus(patch).rescheduleAfter(recheck);
    }

    @Override
    public DeleteControl cleanup(ConntrackPolicy policy, Context<ConntrackPolicy> context) {
        String name = policy.getMetadata().getName();
        gate.forget(name);
        // Only states of Nodes that exist: the node reconciler cannot take the policy out of the
        // spec of a Node that is gone, and the cluster's garbage collector deletes that state (its
        // controller owner reference is the Node), whose agent is gone too.
        boolean stillInSomeSpec = states.stream().anyMatch(s -> s.getSpec() != null && s.getSpec().getPolicies() != null
                && s.getSpec().getPolicies().contains(name) && nodeOf(s.getMetadata().getName()) != null);
        if (stillInSomeSpec) {
            // The node reconciler removes it from the specs (it ignores policies being deleted).
            return DeleteControl.noFinalizerRemoval().rescheduleAfter(CLEANUP_RECHECK_MILLIS);
        }
        return DeleteControl.defaultDelete();
    }

    private record SelectedNodes(List<ConntrackNodeState> states, List<RolloutPlanner.NodeView> rollout) {
    }

    /**
     * Node states of the nodes the policy selects now (by the Node cache, not by possibly stale
     * specs); a selected node whose state does not exist yet counts as a node that has not applied.
     * One pass over the caches, no API call.
     */
    private SelectedNodes selectedNodes(ConntrackPolicy policy, String name) {
        List<ConntrackPolicy> all = policies.list().toList();
        List<ConntrackNodeState> selectedStates = new ArrayList<>();
        List<RolloutPlanner.NodeView> rollout = new ArrayList<>();
        nodes.list(node -> NodeSelectorMatcher.selects(policy, node)).forEach(node -> {
            boolean targetObserving = PolicyMerger.mode(all.stream()
                    .filter(p -> p.getSpec() != null && !PolicyMerger.deleting(p) && NodeSelectorMatcher.selects(p, node))
                    .toList()) == Mode.ObserveOnly;
            Optional<ConntrackNodeState> state = states.get(node.getMetadata().getName());
            if (state.isPresent()) {
                selectedStates.add(state.get());
                rollout.add(RolloutPlanner.NodeView.of(state.get(), name, targetObserving));
            } else {
                selectedStates.add(notCreatedYet(node));
                rollout.add(RolloutPlanner.NodeView.withoutState(node.getMetadata().getName(), targetObserving));
            }
        });
        return new SelectedNodes(selectedStates, rollout);
    }

    private static ConntrackNodeState notCreatedYet(Node node) {
        ConntrackNodeState state = new ConntrackNodeState();
        state.setMetadata(new ObjectMetaBuilder().withName(node.getMetadata().getName()).build());
        return state;
    }

    private Node nodeOf(String name) {
        return nodes == null ? null : nodes.get(new ResourceID(name)).orElse(null);
    }

    private static Set<ResourceID> policiesSelecting(EventSourceContext<ConntrackPolicy> context, Node node) {
        return context.getPrimaryCache().list()
                .filter(p -> node == null || NodeSelectorMatcher.selects(p, node))
                .map(ResourceID::fromResource)
                .collect(Collectors.toSet());
    }
}
