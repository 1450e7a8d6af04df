package dev.conntrack.agent.core;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.kernel.TableMemory;
import io.fabric8.kubernetes.api.model.Quantity;

/**
 * Decides whether and how far to raise nf_conntrack_max: when usage reaches the high watermark or
 * the kernel drops, max grows by the step factor (at least enough to bring usage back under the
 * watermark), never beyond the ceiling or the memory budget. Buckets follow when the table would
 * exceed 8 entries per bucket, to max/4 as kube-proxy sizes them. Pure: the caller reads the table
 * and writes the result.
 */
public final class AutoRaisePlanner {
    public static final int DEFAULT_WATERMARK_PERCENT = 80;
    public static final double DEFAULT_STEP = 2.0;
    /** Above this many entries per bucket, lookups slow down; kube-proxy sizes buckets at max/4. */
    static final int MAX_ENTRIES_PER_BUCKET = 8;

    public enum Limit { None, Ceiling, MemoryBudget }

    /** The outcome: raise to newMax/newBuckets, or not, and which bound (if any) held it back. */
    public record Decision(boolean raise, long newMax, long newBuckets, Limit limitedBy, String message) {
    }

    private AutoRaisePlanner() {
    }

    public static boolean enabled(AutoscaleSpec spec) {
        return spec != null && Boolean.TRUE.equals(spec.getEnabled());
    }

    public static int watermark(AutoscaleSpec spec) {
        return spec.getHighWatermarkPercent() == null ? DEFAULT_WATERMARK_PERCENT : spec.getHighWatermarkPercent();
    }

    /** Whether usage alone calls for a raise (the cheap check the fast watcher runs). */
    public static boolean aboveWatermark(AutoscaleSpec spec, long count, long max) {
        return max > 0 && count * 100 >= (long) watermark(spec) * max;
    }

    public static Decision plan(AutoscaleSpec spec, long count, long max, long buckets, boolean dropping, long objectSize) {
        if (!aboveWatermark(spec, count, max) && !dropping) {
            return new Decision(false, max, buckets, Limit.None, "usage below the watermark and no drops");
        }
        double step = spec.getStep() == null ? DEFAULT_STEP : spec.getStep();
        long wanted = Math.max((long) Math.ceil(max * step), (long) Math.ceil(count * 100.0 / watermark(spec)) + 1);
        long ceiling = spec.getCeiling() == null ? Integer.MAX_VALUE : spec.getCeiling();
        Limit limit = Limit.None;
        long newMax = wanted;
        if (newMax > ceiling) {
            newMax = ceiling;
            limit = Limit.Ceiling;
        }
        long newBuckets = bucketsFor(newMax, buckets);
        Long budget = budgetBytes(spec);
        if (budget != null && TableMemory.estimate(newMax, newBuckets, objectSize) > budget) {
            newMax = Math.max(0, (budget - newBuckets * TableMemory.BUCKET_HEAD_SIZE) / objectSize);
            newBuckets = bucketsFor(newMax, buckets);
            while (newMax > 0 && TableMemory.estimate(newMax, newBuckets, objectSize) > budget) {
                newMax--;
            }
            limit = Limit.MemoryBudget;
        }
        if (newMax <= max) {
            String why = limit == Limit.Ceiling ? "ceiling " + ceiling + " reached"
                    : limit == Limit.MemoryBudget ? "memory budget " + spec.getMemoryBudget() + " reached"
                    : "no room to raise";
            return new Decision(false, max, buckets, limit == Limit.None ? Limit.Ceiling : limit,
                    why + " at max " + max + " with " + count + " entries");
        }
        String trigger = dropping ? "drops" : "usage " + (count * 100 / Math.max(max, 1)) + "% >= " + watermark(spec) + "%";
        return new Decision(true, newMax, newBuckets, limit, "raised max " + max + " -> " + newMax
                + (newBuckets != buckets ? ", buckets " + buckets + " -> " + newBuckets : "") + " (" + trigger
                + (limit != Limit.None ? "; held at the " + (limit == Limit.Ceiling ? "ceiling" : "memory budget") : "") + ")");
    }

    static long bucketsFor(long max, long buckets) {
        return max > buckets * MAX_ENTRIES_PER_BUCKET ? Math.max(buckets, (max + 3) / 4) : buckets;
    }

    static Long budgetBytes(AutoscaleSpec spec) {
        if (spec.getMemoryBudget() == null) {
            return null;
        }
        return Quantity.getAmountInBytes(new Quantity(spec.getMemoryBudget())).longValue();
    }
}
