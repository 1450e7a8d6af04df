package dev.conntrack.agent;

import dev.conntrack.agent.core.AutoRaisePlanner;
import dev.conntrack.agent.core.AutoRaisePlanner.Decision;
import dev.conntrack.agent.core.AutoRaisePlanner.Limit;
import dev.conntrack.agent.core.KeyResult;
import dev.conntrack.agent.core.SettingsApplier;
import dev.conntrack.api.AutoRaiseStatus;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * The agent's own raises of nf_conntrack_max (conntrack.autoscale). A raised value is an applied
 * value like any other: the original is recorded before the first write and restored when the
 * setting leaves the spec; while autoscale stays on it takes precedence over a smaller spec max,
 * so the agent does not undo its own raise on the next poll. Callers serialize calls.
 */
final class AutoRaiser {
    private final SettingsApplier applier;
    private final Clock clock;
    private AutoscaleSpec spec;
    private Long raisedMax;
    private Long raisedBuckets;
    private long raises;
    private Instant lastRaise;
    private Limit limitedBy = Limit.None;
    private String message;
    private boolean firstPass = true;

    AutoRaiser(SettingsApplier applier, Clock clock) {
        this.applier = applier;
        this.clock = clock;
    }

    /** The autoscale settings in force, or null when auto-raise is off. */
    synchronized AutoscaleSpec spec() {
        return spec;
    }

    /**
     * What the applier should enforce: the spec, with max and buckets at least what the agent
     * raised them to. After a restart the raise is found in the kernel: on the first pass only, a
     * live max above the spec's, within the ceiling, with an original already recorded (so an
     * agent set it) is adopted. Later, a larger live max is the previous spec's, not a raise.
     */
    synchronized ConntrackSettings effective(ConntrackSettings desired, boolean maxOriginalRecorded, long liveMax) {
        boolean mayAdopt = firstPass;
        if (desired != null) {
            firstPass = false;
        }
        AutoscaleSpec autoscale = desired == null ? null : desired.getAutoscale();
        if (!AutoRaisePlanner.enabled(autoscale)) {
            spec = null;
            raisedMax = null;
            raisedBuckets = null;
            limitedBy = Limit.None;
            message = null;
            return desired;
        }
        spec = autoscale;
        long specMax = desired.getMax() == null ? 0 : desired.getMax();
        long ceiling = autoscale.getCeiling() == null ? Integer.MAX_VALUE : autoscale.getCeiling();
        if (mayAdopt && raisedMax == null && maxOriginalRecorded && liveMax > specMax && liveMax <= ceiling) {
            raisedMax = liveMax;
        }
        if (raisedMax == null || raisedMax <= specMax) {
            return desired;
        }
        ConntrackSettings copy = NodeStateJson.copy(desired);
        copy.setMax(raisedMax.intValue());
        if (raisedBuckets != null && (desired.getBuckets() == null || raisedBuckets > desired.getBuckets())) {
            copy.setBuckets(raisedBuckets.intValue());
        }
        return copy;
    }

    /** Raises now when the plan says so; returns the decision when something was raised. */
    /** @param growthPerSecond the table's growth measured by the count watcher (0: unknown or not growing) */
    synchronized Optional<Decision> raiseIfNeeded(long count, double growthPerSecond, long max, long buckets, boolean dropping,
            long objectSize, Mode mode, DriftPolicy drift) {
        if (spec == null) {
            return Optional.empty();
        }
        // The caller's max may predate a raise made on another thread: never plan below our own raise.
        if (raisedMax != null && raisedMax > max) {
            max = raisedMax;
        }
        Decision d = AutoRaisePlanner.plan(spec, count, max, buckets, dropping, objectSize, growthPerSecond);
        if (!d.raise()) {
            if (d.limitedBy() != Limit.None) {
                limitedBy = d.limitedBy();
                message = d.message();
            }
            return Optional.empty();
        }
        if (mode == Mode.ObserveOnly) {
            message = "observe only, would have " + d.message();
            return Optional.empty();
        }
        KeyResult maxResult = applier.applyKey(ConntrackKey.MAX, Long.toString(d.newMax()), mode, drift);
        if (maxResult.outcome().isFailure()) {
            message = "could not raise: " + maxResult.describeFailure();
            return Optional.empty();
        }
        raisedMax = d.newMax();
        if (d.newBuckets() != buckets) {
            KeyResult bucketResult = applier.applyKey(ConntrackKey.BUCKETS, Long.toString(d.newBuckets()), mode, drift);
            if (!bucketResult.outcome().isFailure()) {
                raisedBuckets = d.newBuckets();
            }
        }
        raises++;
        lastRaise = clock.instant();
        limitedBy = d.limitedBy();
        message = d.message();
        return Optional.of(d);
    }

    synchronized Limit limitedBy() {
        return limitedBy;
    }

    synchronized AutoRaiseStatus status() {
        if (spec == null) {
            return null;
        }
        AutoRaiseStatus s = new AutoRaiseStatus();
        s.setMax(raisedMax);
        s.setBuckets(raisedBuckets);
        s.setRaises(raises);
        s.setLastRaiseTime(lastRaise == null ? null : lastRaise.truncatedTo(ChronoUnit.SECONDS).toString());
        s.setLimitedBy(limitedBy == Limit.None ? null : limitedBy.name());
        s.setMessage(message);
        return s;
    }
}
