package dev.conntrack.agent.core;

import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NotrackRule;
import java.util.List;

/**
 * The agent's one writer to the kernel: sysctls and buckets (the spec's values with auto-raise's
 * floor already in them, see {@link AutoRaise}) through the {@link SettingsApplier}, then the
 * notrack rules through the {@link NotrackEnforcer}. Nothing else in the agent writes to the
 * kernel, so no two writers can race or undo each other. Called from the poll thread only.
 */
public final class Enforcer {
    /**
     * What this pass must bring about.
     *
     * @param specKnown false until the node's spec has been seen: then nothing is written or
     *                  restored, and the notrack table is left as it is
     * @param notrack   the spec's notrack rules (null: none)
     */
    public record Intent(boolean specKnown, DesiredValues values, Mode mode, DriftPolicy drift, List<NotrackRule> notrack) {
        /** The spec is unknown (API server not reached yet, or no node state yet): observe and restore nothing. */
        public static final Intent UNKNOWN = new Intent(false, DesiredValues.NONE, Mode.ObserveOnly, DriftPolicy.Report, null);
    }

    /** What the pass did. */
    public record Result(ApplyReport settings, NotrackEnforcer.Outcome notrack) {
    }

    private final SettingsApplier settings;
    private final NotrackEnforcer notrack;

    public Enforcer(SettingsApplier settings, NotrackEnforcer notrack) {
        this.settings = settings;
        this.notrack = notrack;
    }

    public Result enforce(Intent intent) {
        ApplyReport report = settings.reconcile(intent.values(), intent.mode(), intent.drift());
        NotrackEnforcer.Outcome rules = intent.specKnown() ? notrack.reconcile(intent.notrack(), intent.mode(), intent.drift())
                : NotrackEnforcer.Outcome.NONE;
        return new Result(report, rules);
    }
}
