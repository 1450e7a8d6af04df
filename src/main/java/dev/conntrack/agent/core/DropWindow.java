package dev.conntrack.agent.core;

import java.time.Duration;

/**
 * What TableFull is judged on: drops in the last configured poll interval, even when the agent
 * polls faster than that under pressure (see {@link PollPacing}). Without it, a 200 ms poll that
 * happens to see no new drop would clear TableFull in the middle of an episode, and the condition
 * (with its status writes and roll-ups) would flap five times a second.
 */
public final class DropWindow {
    private DropRate lastDropping;
    private long lastDroppingNanos;

    /** The newest rate, or, within {@code window} of the last poll that saw drops, that poll's rate. */
    public DropRate forConditions(DropRate newest, long nowNanos, Duration window) {
        if (newest.tableFull()) {
            lastDropping = newest;
            lastDroppingNanos = nowNanos;
            return newest;
        }
        if (lastDropping != null && nowNanos - lastDroppingNanos < window.toNanos()) {
            return lastDropping;
        }
        lastDropping = null;
        return newest;
    }
}
