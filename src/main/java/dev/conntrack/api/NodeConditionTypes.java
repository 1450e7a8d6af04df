package dev.conntrack.api;

/**
 * The contract between the agent, which writes a ConntrackNodeState's status, and the operator,
 * which reads it: the condition types and their reasons, in one place for both roles. docs/node-state.md's
 * table of node conditions describes each one.
 */
public final class NodeConditionTypes {
    /** Every desired value is live (or, ObserveOnly, the agent has reported what it would change). */
    public static final String APPLIED = "Applied";
    /** A managed setting could not be read, written, verified or restored. */
    public static final String DEGRADED = "Degraded";
    /** The kernel dropped packets because a conntrack table was full. */
    public static final String TABLE_FULL = "TableFull";
    /** Table usage at or above the warning percent. */
    public static final String PRESSURE = "Pressure";

    /** Reasons of the conditions above, by condition. */
    public static final class Reasons {
        public static final String SETTINGS_APPLIED = "SettingsApplied";
        public static final String OBSERVE_ONLY = "ObserveOnly";
        public static final String AGENT_OBSERVE_ONLY = "AgentObserveOnly";
        public static final String EXTERNAL_OVERRIDE = "ExternalOverride";
        public static final String WRITE_REFUSED = "WriteRefused";
        public static final String NOTRACK_FAILED = "NotrackFailed";
        /** The node's spec has a value the agent cannot enforce (an object that slipped past the schema). */
        public static final String INVALID_SPEC = "InvalidSpec";
        /** Lines of the originals file could not be read: those originals cannot be written back. */
        public static final String ORIGINALS_DAMAGED = "OriginalsDamaged";
        public static final String AS_EXPECTED = "AsExpected";
        public static final String DROPS_RISING = "DropsRising";
        public static final String TABLE_FULL_LOGGED = "TableFullLogged";
        public static final String NO_DROPS = "NoDrops";
        public static final String DROPS_UNAVAILABLE = "DropsUnavailable";
        public static final String USAGE_ABOVE_WARNING = "UsageAboveWarning";
        public static final String USAGE_NORMAL = "UsageNormal";
        public static final String USAGE_UNAVAILABLE = "UsageUnavailable";
        public static final String CEILING_REACHED = "CeilingReached";
        public static final String MEMORY_BUDGET_REACHED = "MemoryBudgetReached";

        private Reasons() {
        }
    }

    private NodeConditionTypes() {
    }
}
