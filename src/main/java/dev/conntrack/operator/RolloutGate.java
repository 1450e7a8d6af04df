package dev.conntrack.operator;

import jakarta.inject.Singleton;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The hand-over between the two reconcilers, in memory: the policy reconciler (which sees every
 * selected node) admits nodes to a policy's current generation, the node reconciler (which writes
 * one node's spec) asks whether its node was admitted. A spec write reaches the shared node state
 * cache only some time later, so an admission is kept for as long as its generation is the
 * policy's current one: dropping it when the cache shows the node's new spec could let a reconcile
 * that read the cache before write the old one back.
 * That is at most one name per selected node and policy. Nothing here has to survive a restart:
 * the planner starts again from what the node specs say.
 */
@Singleton
public class RolloutGate {
    private record Admission(long generation, Set<String> nodes) {
    }

    private final ConcurrentHashMap<String, Admission> byPolicy = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

    /** Called with the name of every node admitted, e.g. to trigger its reconcile. */
    public void onAdmit(Consumer<String> listener) {
        listeners.add(listener);
    }

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
        for (String node : nodes) {
            for (Consumer<String> listener : listeners) {
                listener.accept(node);
            }
        }
    }

    public void forget(String policy) {
        byPolicy.remove(policy);
    }
}
