package dev.conntrack.agent;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * What the probes say about the agent, from what its threads report:
 * <ul>
 * <li>ready: the node's spec is known and the last poll completed (so a DaemonSet rollout waits
 *     until the new agent enforces, not only until its process runs);</li>
 * <li>live: a poll completed recently and the spec watch still runs. A poll that stopped
 *     completing (a dead or stuck thread) makes the agent not live, and the kubelet restarts it.</li>
 * </ul>
 * Thread-safe: the poll thread writes, the HTTP server's threads read.
 */
final class AgentHealth {
    /** A poll may take this long beyond its interval before the agent counts as stuck. */
    static final Duration STALE_AFTER = Duration.ofSeconds(30);

    private final BooleanSupplier specWatchRunning;
    private final long startedNanos = System.nanoTime();
    private volatile long lastCompletedNanos = -1;
    private volatile long intervalNanos = Duration.ofSeconds(1).toNanos();
    private volatile boolean lastPollCompleted;
    private volatile boolean specKnown;

    AgentHealth(BooleanSupplier specWatchRunning) {
        this.specWatchRunning = specWatchRunning;
    }

    /** A poll ended: COMPLETED false when it threw; SPEC_KNOWN whether it had the node's spec. */
    void polled(boolean completed, boolean specKnown, Duration interval, long nowNanos) {
        this.lastPollCompleted = completed;
        if (completed) {
            this.lastCompletedNanos = nowNanos;
            this.specKnown = specKnown;
            this.intervalNanos = interval.toNanos();
        }
    }

    boolean ready(long nowNanos) {
        return specKnown && lastPollCompleted && !stale(nowNanos);
    }

    boolean live(long nowNanos) {
        return !stale(nowNanos) && specWatchRunning.getAsBoolean();
    }

    /** No poll completed within its interval plus {@link #STALE_AFTER} (counted from the start before the first). */
    boolean stale(long nowNanos) {
        long since = lastCompletedNanos < 0 ? startedNanos : lastCompletedNanos;
        return nowNanos - since > intervalNanos + STALE_AFTER.toNanos();
    }

    /** One line for the probe's body and the log. */
    String describe(long nowNanos) {
        String poll = lastCompletedNanos < 0 ? "no poll completed yet"
                : "last poll completed " + (nowNanos - lastCompletedNanos) / 1_000_000 + " ms ago"
                        + (lastPollCompleted ? "" : ", the newest failed");
        return poll + "; spec " + (specKnown ? "known" : "not known yet") + "; spec watch "
                + (specWatchRunning.getAsBoolean() ? "running" : "stopped");
    }
}
