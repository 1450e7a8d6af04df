package dev.conntrack.agent.core;

import dev.conntrack.agent.core.AutoRaisePlanner.Decision;
import dev.conntrack.agent.core.AutoRaisePlanner.Limit;
import dev.conntrack.api.AutoRaiseStatus;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * The agent's own raises of nf_conntrack_max (conntrack.autoscale), as a floor under the spec's max
 * and buckets: it writes nothing itself. Each poll asks it for the floor ({@link #floor}); the one
 * enforcer then applies spec and floor in the same pass, and {@link #settle} learns from that pass
 * whether the raise is in the kernel. A raised value is an applied value like any other: the
 * original is recorded before the first write and restored when the setting leaves the spec; while
 * autoscale stays on the floor takes precedence over a smaller spec max, so the agent does not undo
 * its own raise on the next poll. Not thread-safe: the poll thread owns it.
 */
public final class AutoRaise {
    /** What the table held when the poll began, and how fast it grew (the count watcher's measure). */
    public record Observation(long count, long max, long buckets, double growthPerSecond, boolean dropping) {
    }

    private AutoscaleSpec spec;
    private Long raisedMax;
    private Long raisedBuckets;
    private Decision pending;
    private long pendingFromCount;
    private long pendingFromMax;
    private long raises;
    private Instant lastRaise;
    private Limit limitedBy = Limit.None;
    private String message;
    private boolean firstPass = true;

    /** The autoscale settings in force, or null when auto-raise is off. */
    public AutoscaleSpec spec() {
        return spec;
    }

    /**
     * The values to enforce this poll: DESIRED with max and buckets at least what auto-raise wants.
     * After a restart a raise is found in the kernel: on the first pass only, a live max above the
     * spec's, within the ceiling, with an original already recorded (so an agent set it) is
     * adopted. Later, a larger live max is the previous spec's, not a raise.
     */
    public DesiredValues floor(ConntrackSettings settings, DesiredValues desired, boolean maxOriginalRecorded, Observation seen,
            long objectSize, Mode mode) {
        boolean mayAdopt = firstPass;
        if (settings != null) {
            firstPass = false;
        }
        pending = null;
        AutoscaleSpec autoscale = settings == null ? null : settings.getAutoscale();
        if (!AutoRaisePlanner.enabled(autoscale)) {
            spec = null;
            raisedMax = null;
            raisedBuckets = null;
            limitedBy = Limit.None;
            message = null;
            return desired;
        }
        spec = autoscale;
        long specMax = desired.number(ConntrackKey.MAX);
        long ceiling = autoscale.getCeiling() == null ? Integer.MAX_VALUE : autoscale.getCeiling();
        if (mayAdopt && raisedMax == null && maxOriginalRecorded && seen.max() > specMax && seen.max() <= ceiling) {
            raisedMax = seen.max();
        }
        plan(seen, objectSize, mode);
        long max = pending != null ? pending.newMax() : raisedMax == null ? 0 : raisedMax;
        if (max <= specMax) {
            pending = null; // the spec asks for more than the raise would: nothing of ours to settle
            return desired;
        }
        long buckets = pending != null && pending.newBuckets() != seen.buckets() ? pending.newBuckets()
                : raisedBuckets == null ? 0 : raisedBuckets;
        return desired.withFloor(max, buckets);
    }

    private void plan(Observation seen, long objectSize, Mode mode) {
        // The live max may predate our own raise (a poll that read it before): never plan below the raise.
        long max = raisedMax != null && raisedMax > seen.max() ? raisedMax : seen.max();
        Decision d = AutoRaisePlanner.plan(spec, seen.count(), max, seen.buckets(), seen.dropping(), objectSize,
                seen.growthPerSecond());
        if (!d.raise()) {
            if (d.limitedBy() != Limit.None) {
                limitedBy = d.limitedBy();
                message = d.message();
            }
        } else if (mode == Mode.ObserveOnly) {
            message = "observe only, would have " + d.message();
        } else {
            pending = d;
            pendingFromCount = seen.count();
            pendingFromMax = seen.max();
        }
    }

    /**
     * After the enforcer's pass: whether the raise planned by {@link #floor} is in the kernel.
     * Returns the raise's message when it is (for the log, the Event and the metric), with the
     * entries and the max it was planned from.
     */
    public Optional<String> settle(ApplyReport report, Instant now) {
        Decision d = pending;
        pending = null;
        if (d == null) {
            return Optional.empty();
        }
        KeyResult max = report.result(ConntrackKey.MAX).orElse(null);
        if (max == null || max.outcome().isFailure()) {
            message = "could not raise: " + (max == null ? "max not applied" : max.describeFailure());
            return Optional.empty();
        }
        raisedMax = d.newMax();
        report.result(ConntrackKey.BUCKETS).filter(b -> !b.outcome().isFailure() && b.target() != null
                && b.target().equals(Long.toString(d.newBuckets()))).ifPresent(b -> raisedBuckets = d.newBuckets());
        raises++;
        lastRaise = now;
        limitedBy = d.limitedBy();
        message = d.message();
        return Optional.of(d.message() + " (" + pendingFromCount + " entries, max was " + pendingFromMax + ")");
    }

    public Limit limitedBy() {
        return limitedBy;
    }

    public AutoRaiseStatus status() {
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
