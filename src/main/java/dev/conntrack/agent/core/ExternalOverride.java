package dev.conntrack.agent.core;

import dev.conntrack.kernel.ConntrackKey;

/**
 * A value we wrote was changed by someone else (sysctl -w, kube-proxy start-up, sysctl.d, TuneD).
 *
 * @param ourValue   what the kernel held after our last write
 * @param foundValue what it holds now
 * @param reapplied  whether this pass wrote ours again (Enforce + Reapply)
 */
public record ExternalOverride(ConntrackKey key, String ourValue, String foundValue, boolean reapplied) {
    @Override
    public String toString() {
        return key.fieldName() + ": set to " + foundValue + " outside the agent (we wrote " + ourValue + ")"
                + (reapplied ? ", re-applied" : ", left as found");
    }
}
