package dev.conntrack.operator;

import dev.conntrack.api.ConntrackPolicy;
import io.fabric8.kubernetes.api.model.Node;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;


/**
 * What the rollout keeps in memory between the two reconcilers, and how admissions reach the node
 * reconciler: the gate is one of its event sources, and each admitted node is an event.
 *
 * <p>Admissions: the policy reconciler (which sees every selected node) admits nodes to a policy's
 * current generation, the node reconciler (which writes one node's spec) asks whether its node was
 * admitted. A spec write reaches the shared node state cache only some time later, so an admission
 * is kept for as long as its generation is the policy's current one: dropping it when the cache
 * shows the node's new spec could let a reconcile that read the cache before write the old one back.
 * That is at most one name per selected node and policy.
 *
 * <p>The settle window: when each policy's current version (uid, generation, deletion) was first
 * seen by the node reconciler's watch. No node moves towards enforcing because of a version younger
 * than the window, so a policy created a few milliseconds before an ObserveOnly one in the same
 * {@code kubectl apply} is never written before the audit is seen. Stamped only from the watch the
 * node specs are merged from: the events of one watch arrive in the order they were written, so by
 * the end of the window that watch has shown whatever was applied with it.
 *
 * <p>Nothing here has to survive a restart: the planner starts again from what the node specs say,
 * and a restarted operator waits the window again for every version it has not seen settle.
 */
@Singleton
public class RolloutGate extends SimpleInboundEventSource<Node> implements RolloutHold.Admissions {
    private record Admission(long generation, Set<String> nodes) {
    }

    private record Version(String uid, long generation, boolean deleting) {
        static Version of(ConntrackPolicy policy) {
            var meta = policy.getMetadata();
            return new Version(meta.getUid(), meta.getGeneration() == null ? 0L : meta.getGeneration(),
                    meta.getDeletionTimestamp() != null);
        }
    }

    private record Seen(Version version, Instant at) {
    }

    private final ConcurrentHashMap<String, Admission> byPolicy = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Seen> seen = new ConcurrentHashMap<>();
    private final Duration settle;
    private final Clock clock;

    @Inject
    public RolloutGate(OperatorConfig config) {
        this(config.rollout().settle(), Clock.systemUTC());
    }

    public RolloutGate(Duration settle, Clock clock) {
        super("rollout-admissions");
        if (settle.isNegative()) {
            throw new IllegalArgumentException("conntrack.rollout.settle must not be negative: " + settle);
        }
        this.settle = settle;
        this.clock = clock;
    }

    public Duration settle() {
        return settle;
    }

    @Override
    public boolean mayAdvance(String policy, long generation, String node) {
        Admission a = byPolicy.get(policy);
        return a != null && a.generation() == generation && a.nodes().contains(node);
    }

    /** Nodes admitted to this generation of the policy (a live, thread-safe view). */
    public Set<String> admitted(String policy, long generation) {
        Admission a = byPolicy.get(policy);
        return a != null && a.generation() == generation ? a.nodes() : Set.of();
    }

    public void admit(String policy, long generation, Collection<String> nodes) {
        if (nodes.isEmpty()) {
            return;
        }
        Admission a = byPolicy.compute(policy, (k, old) -> old != null && old.generation() == generation
                ? old : new Admission(generation, ConcurrentHashMap.newKeySet()));
        a.nodes().addAll(nodes);
        if (isRunning()) {
            // Re-runs exactly the admitted nodes' reconciles (none while the node controller is not running).
            for (String node : nodes) {
                propagateEvent(new ResourceID(node));
            }
        }
    }

    /** The policy is being deleted: its admissions go (its settle stamp stays until the watch drops it). */
    public void forget(String policy) {
        byPolicy.remove(policy);
    }

    /** The node reconciler's watch shows this version of the policy: stamp it if it is new. */
    public void seen(ConntrackPolicy policy) {
        Version version = Version.of(policy);
        seen.compute(PolicyMerger.name(policy), (name, old) -> old != null && old.version().equals(version)
                ? old : new Seen(version, clock.instant()));
    }

    /** The policy is gone from the node reconciler's watch. */
    public void gone(ConntrackPolicy policy) {
        seen.remove(PolicyMerger.name(policy));
    }

    @Override
    public Duration unsettled(ConntrackPolicy policy) {
        Seen s = seen.get(PolicyMerger.name(policy));
        if (s == null || !Objects.equals(s.version(), Version.of(policy))) {
            return settle;
        }
        Duration left = settle.minus(Duration.between(s.at(), clock.instant()));
        return left.isNegative() ? Duration.ZERO : left;
    }
}
