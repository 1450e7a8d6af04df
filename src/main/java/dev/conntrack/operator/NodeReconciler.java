package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import jakarta.inject.Inject;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * One reconcile per Node: merges every policy that selects it into the spec of the node's
 * ConntrackNodeState (named after the Node) and writes it only when it changed. Any policy spec
 * change re-reconciles every node; the merge itself runs on informer caches, so that is cheap.
 * Which version of each policy the node gets is {@link RolloutHold}'s choice: the rollout admits
 * nodes through the {@link RolloutGate}, an event source of this reconciler whose admissions
 * re-reconcile exactly those nodes.
 * Status-only updates (of policies and of node states) do not reach this reconciler.
 */
@ControllerConfiguration(name = NodeReconciler.NAME,
        informer = @Informer(itemStore = PrunedItemStore.Nodes.class, onUpdateFilter = ChangeFilters.NodeUpdates.class))
public class NodeReconciler implements Reconciler<Node> {
    public static final String NAME = "node";
    private static final Logger LOG = Logger.getLogger(NodeReconciler.class);
    static final String FIELD_MANAGER = "conntrack-operator";

    private final PolicyMerger merger = new PolicyMerger();
    private final NodeStatePatcher specPatches = new NodeStatePatcher(FIELD_MANAGER);
    private final Clock clock = Clock.systemUTC();
    private InformerEventSource<ConntrackPolicy, Node> policies;

    @Inject
    RolloutGate gate;
    @Inject
    PolicyValidator validator;
    @Inject
    NodeStateCache states;

    @Override
    public List<EventSource<?, Node>> prepareEventSources(EventSourceContext<Node> context) {
        policies = new InformerEventSource<>(InformerEventSourceConfiguration.from(ConntrackPolicy.class, Node.class)
                .withName("policies")
                // A policy can move any node in or out of its selector: every node is affected.
                // The settle window is stamped here, from the watch the node specs are merged from.
                .withSecondaryToPrimaryMapper(policy -> {
                    gate.seen(policy);
                    return context.getPrimaryCache().list().map(ResourceID::fromResource).collect(Collectors.toSet());
                })
                // Status writes (once a second per policy during a rollout) and annotations change no node.
                .withOnUpdateFilter(ChangeFilters::specOrDeletionChanged)
                .withItemStore(new PrunedItemStore<>(PrunedItemStore::withoutManagedFields))
                .build(), context);
        // Someone editing or deleting a node state brings it back to the merged spec; the agents'
        // status writes (heartbeats) must not re-run the merge.
        NodeStateEventSource<Node> stateChanges = new NodeStateEventSource<>("nodestates", states,
                (old, state, deleted) -> old == null || deleted || ChangeFilters.specOrDeletionChanged(state, old)
                        ? Set.of(new ResourceID(state.getMetadata().getName())) : Set.of());
        return List.of(policies, stateChanges, gate);
    }

    @Override
    public UpdateControl<Node> reconcile(Node node, Context<Node> context) {
        String name = node.getMetadata().getName();
        ConntrackNodeState existing = states.get(name).orElse(null);
        List<ConntrackPolicy> all = policies.list(p -> true).toList();
        all.forEach(gate::seen);
        RolloutHold.Result chosen = RolloutHold.choose(merger, node, all, existing == null ? null : existing.getSpec(),
                gate, validator::valid, clock.instant());
        ConntrackNodeStateSpec desired = chosen.spec();
        if (desired == null || (existing != null && PolicyMerger.sameSpec(existing.getSpec(), desired))) {
            // Held by the settle window: look again when it has passed.
            return chosen.recheckAfter() == null ? UpdateControl.noUpdate()
                    : UpdateControl.<Node>noUpdate().rescheduleAfter(chosen.recheckAfter().toMillis() + 1);
        }
        LOG.infof("Node %s: writing node state spec (policies %s, mode %s)", name, desired.getPolicies(), desired.getMode());
        ConntrackNodeState state = desiredState(node, desired);
        KubernetesClient client = context.getClient();
        if (existing == null) {
            // Absent from the cache: create it. Should it exist after all (a write of our own the
            // cache has not seen yet), the conflict fails this reconcile and the retry patches it.
            client.resource(state).create();
        } else {
            specPatches.send(client, name, client.getKubernetesSerialization().asJson(NodeStateSpecPatch.operations(existing, state)));
        }
        return UpdateControl.noUpdate();
    }

    /** Stored like server-side apply stored them: empty maps and lists left out, so specs compare the same. */
    private static ConntrackNodeStateSpec withoutEmptyCollections(ConntrackNodeStateSpec spec) {
        if (spec.getPolicies() != null && spec.getPolicies().isEmpty()) {
            spec.setPolicies(null);
        }
        if (spec.getPolicyGenerations() != null && spec.getPolicyGenerations().isEmpty()) {
            spec.setPolicyGenerations(null);
        }
        if (spec.getSources() != null && spec.getSources().isEmpty()) {
            spec.setSources(null);
        }
        if (spec.getPolicySnapshots() != null && spec.getPolicySnapshots().isEmpty()) {
            spec.setPolicySnapshots(null);
        }
        return spec;
    }

    /** The node state as the operator owns it: metadata, labels, owner reference and spec, never status. */
    static ConntrackNodeState desiredState(Node node, ConntrackNodeStateSpec spec) {
        ConntrackNodeState state = new ConntrackNodeState();
        state.setMetadata(new ObjectMetaBuilder()
                .withName(node.getMetadata().getName())
                .withLabels(Map.of(OperatorLabels.MANAGED_BY, OperatorLabels.MANAGED_BY_VALUE))
                // Deleting the Node lets the garbage collector delete its state.
                .withOwnerReferences(new OwnerReferenceBuilder()
                        .withApiVersion("v1").withKind("Node")
                        .withName(node.getMetadata().getName()).withUid(node.getMetadata().getUid())
                        .withBlockOwnerDeletion(false).withController(true)
                        .build())
                .build());
        state.setSpec(withoutEmptyCollections(spec));
        state.setStatus(null);
        return state;
    }
}
