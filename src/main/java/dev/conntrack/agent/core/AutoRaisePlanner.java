package dev.conntrack.agent.core;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.Defaults;
import dev.conntrack.kernel.TableMemory;
import io.fabric8.kubernetes.api.model.Quantity;

/**
 * Decides whether and how far to raise nf_conntrack_max: when usage reaches the high watermark (or
 * will within the next reads at the measured growth rate) or the kernel drops, max grows by the
 * step factor, at least enough to bring usage back under the watermark and, for a table that grows
 * fast, enough to hold one more second of that growth; never beyond the ceiling or the memory
 * budget. Buckets follow when the table would exceed 8 entries per bucket, to max/4 as kube-proxy
 * sizes them. Pure: the caller reads the table and writes the result.
 *
 * <p>Why the growth rate: a connection storm on a NAT node fills a small table in tens of
 * milliseconds, and every SYN dropped costs its client a one-second retransmit. Doubling step by
 * step behind the storm means one raise (and one race) per doubling; sizing for the growth seen
 * gets ahead of it in one step. Raising max costs no memory by itself (entries are allocated on
 * use), and the ceiling and memory budget still bound it.
 */
public final class AutoRaisePlanner {
    /** Above this many entries per bucket, lookups slow down; kube-proxy sizes buckets at max/4. */
    static final int MAX_ENTRIES_PER_BUCKET = 8;
    /** A fast-growing table is raised to hold this much more growth at the rate measured. */
    static final double GROWTH_HORIZON_SECONDS = 1.0;
    /** Raise already when the growth rate would carry usage over the watermark within this time. */
    static final double LOOKAHEAD_SECONDS = 0.02;
    /** New entries per second a connection storm brings (ab -c 5000 opens about 225k/s on 2 cores). */
    public static final double STORM_PER_SECOND = 250_000;
    /**
     * Entries that must stay free below the watermark: what a storm fills in 10 ms, the time the
     * agent needs to see it and write a raise. A table with less room cannot be defended by
     * watching it (a 1,000-entry table fills in 4 ms), so it is raised at once to twice this room.
     */
    public static final long MIN_HEADROOM = (long) (STORM_PER_SECOND * 0.01);

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
        return spec.getHighWatermarkPercent() == null ? Defaults.HIGH_WATERMARK_PERCENT : spec.getHighWatermarkPercent();
    }

    /** Whether usage alone calls for a raise (the cheap check the fast watcher runs). */
    public static boolean aboveWatermark(AutoscaleSpec spec, long count, long max) {
        return max > 0 && count * 100 >= (long) watermark(spec) * max;
    }

    /**
     * Whether usage calls for a raise now: at the watermark already, or about to be at the growth
     * rate measured (entries per second; 0 or less when unknown or shrinking).
     */
    public static boolean dueToRaise(AutoscaleSpec spec, long count, long max, double growthPerSecond) {
        return aboveWatermark(spec, projected(count, growthPerSecond, LOOKAHEAD_SECONDS) + MIN_HEADROOM, max);
    }

    public static Decision plan(AutoscaleSpec spec, long count, long max, long buckets, boolean dropping, long objectSize,
            double growthPerSecond) {
        if (!dueToRaise(spec, count, max, growthPerSecond) && !dropping) {
            return new Decision(false, max, buckets, Limit.None, "usage below the watermark and no drops");
        }
        double step = spec.getStep() == null ? Defaults.STEP : spec.getStep();
        double watermark = watermark(spec);
        long wanted = Math.max((long) Math.ceil(max * step),
                (long) Math.ceil((count + 2 * MIN_HEADROOM) * 100.0 / watermark) + 1);
        long ahead = (long) Math.ceil(projected(count, growthPerSecond, GROWTH_HORIZON_SECONDS) * 100.0 / watermark);
        boolean forGrowth = ahead > wanted;
        wanted = Math.max(wanted, ahead);
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
            newMax = largestWithin(budget, newMax, buckets, objectSize);
            newBuckets = bucketsFor(newMax, buckets);
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
        if (!dropping && !aboveWatermark(spec, count, max)) {
            trigger = growthPerSecond > 0 && !aboveWatermark(spec, count + MIN_HEADROOM, max)
                    ? "usage " + (count * 100 / Math.max(max, 1)) + "% and growing " + Math.round(growthPerSecond) + " entries/s"
                    : "fewer than " + MIN_HEADROOM + " entries left below the watermark, what a connection storm fills in 10 ms";
        }
        if (forGrowth) {
            trigger += "; sized for 1 s of growth at " + Math.round(growthPerSecond) + " entries/s";
        }
        return new Decision(true, newMax, newBuckets, limit, "raised max " + max + " -> " + newMax
                + (newBuckets != buckets ? ", buckets " + buckets + " -> " + newBuckets : "") + " (" + trigger
                + (limit != Limit.None ? "; held at the " + (limit == Limit.Ceiling ? "ceiling" : "memory budget") : "") + ")");
    }

    /** The largest max up to {@code upTo} whose table (with the buckets it calls for) fits the budget; memory grows with max. */
    private static long largestWithin(long budget, long upTo, long buckets, long objectSize) {
        long low = 0;
        long high = upTo;
        while (low < high) {
            long mid = low + (high - low + 1) / 2;
            if (TableMemory.estimate(mid, bucketsFor(mid, buckets), objectSize) <= budget) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        return low;
    }

    private static long projected(long count, double growthPerSecond, double seconds) {
        return growthPerSecond > 0 ? count + (long) Math.ceil(growthPerSecond * seconds) : count;
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
