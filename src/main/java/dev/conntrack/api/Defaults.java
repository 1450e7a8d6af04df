package dev.conntrack.api;

import java.time.Duration;

/**
 * What an absent field means, for the CRD (its schema defaults are these constants), the operator
 * (which fills them into every node spec) and the agent (which assumes them when a spec, written
 * by an older operator, lacks a field). One place, so the three cannot drift apart.
 */
public final class Defaults {
    /** ConntrackPolicySpec.mode. */
    public static final String MODE = "Enforce";
    /** ConntrackPolicySpec.driftPolicy. */
    public static final String DRIFT_POLICY = "Reapply";
    /** MonitoringSpec.usageWarningPercent. */
    public static final int USAGE_WARNING_PERCENT = 80;
    /** MonitoringSpec.pollInterval. */
    public static final String POLL_INTERVAL = "1s";
    /** AutoscaleSpec.highWatermarkPercent. */
    public static final int HIGH_WATERMARK_PERCENT = 80;
    /** AutoscaleSpec.step. */
    public static final double STEP = 2.0;

    private Defaults() {
    }

    public static Mode mode(Mode mode) {
        return mode == null ? Mode.valueOf(MODE) : mode;
    }

    public static DriftPolicy driftPolicy(DriftPolicy drift) {
        return drift == null ? DriftPolicy.valueOf(DRIFT_POLICY) : drift;
    }

    public static int usageWarningPercent(MonitoringSpec monitoring) {
        return monitoring == null || monitoring.getUsageWarningPercent() == null ? USAGE_WARNING_PERCENT
                : monitoring.getUsageWarningPercent();
    }

    /** {@link #POLL_INTERVAL} as a duration. */
    public static Duration pollInterval() {
        return Duration.parse("PT" + POLL_INTERVAL.toUpperCase(java.util.Locale.ROOT));
    }
}
