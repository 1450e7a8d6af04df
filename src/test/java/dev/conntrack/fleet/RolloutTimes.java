package dev.conntrack.fleet;

import dev.conntrack.api.ConntrackNodeState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * For one policy generation: when each node's spec first carried it and when its agent first
 * reported it Applied, as seen by the simulator's informer, relative to the edit.
 */
public final class RolloutTimes {
    private final String policy;
    private final long generation;
    private final long editNanos;
    private final Set<String> nodes;
    private final Map<String, Long> specAt = new ConcurrentHashMap<>();
    private final Map<String, Long> appliedAt = new ConcurrentHashMap<>();

    public RolloutTimes(String policy, long generation, long editNanos, Set<String> nodes) {
        this.policy = policy;
        this.generation = generation;
        this.editNanos = editNanos;
        this.nodes = nodes;
    }

    public void observe(ConntrackNodeState state) {
        String name = state.getMetadata().getName();
        if (!nodes.contains(name) || !SimulatedFleet.carries(state, policy, generation)) {
            return;
        }
        long now = System.nanoTime();
        specAt.putIfAbsent(name, now);
        if (SimulatedFleet.appliedCurrent(state)) {
            appliedAt.putIfAbsent(name, now);
        }
    }

    public boolean allSpecs() {
        return specAt.size() >= nodes.size();
    }

    public boolean allApplied() {
        return appliedAt.size() >= nodes.size();
    }

    public int specs() {
        return specAt.size();
    }

    public int applied() {
        return appliedAt.size();
    }

    /** Seconds from the edit: p50, p99 and max over the nodes seen so far. */
    public double[] specSeconds() {
        return percentiles(specAt);
    }

    public double[] appliedSeconds() {
        return percentiles(appliedAt);
    }

    private double[] percentiles(Map<String, Long> at) {
        List<Long> d = new ArrayList<>();
        for (long t : at.values()) {
            d.add(t - editNanos);
        }
        if (d.isEmpty()) {
            return new double[] {Double.NaN, Double.NaN, Double.NaN};
        }
        Collections.sort(d);
        return new double[] {seconds(d, 0.50), seconds(d, 0.99), d.get(d.size() - 1) / 1e9};
    }

    /** Nearest-rank percentile. */
    private static double seconds(List<Long> sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, rank - 1)) / 1e9;
    }
}
