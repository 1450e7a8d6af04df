package dev.conntrack.agent.core;

import dev.conntrack.api.AutoscaleSpec;
import java.time.Duration;

/**
 * What the count watcher looks for between two polls, set by each poll: it reads the table's size
 * and drop counters every few milliseconds and only wakes the poll, which decides and writes. It
 * wakes it when auto-raise is due ({@link AutoRaisePlanner#dueToRaise}), when the kernel drops
 * while the node does not report TableFull yet, or when conntrack objects pile up in a namespace
 * nobody watches (the poll then scans the namespaces). It runs only while it is worth it: with
 * auto-raise on (and not held at its bound), or when a connection storm could fill the table before
 * the next poll and the node does not report TableFull yet, so that the first drop is reported
 * within milliseconds even when the kernel's rate-limited "table full" log line does not come.
 *
 * @param armed            false: the watcher sleeps until the next poll arms it
 * @param max              nf_conntrack_max as the poll saw it
 * @param raiseFor         the autoscale settings while a raise is possible (on, and not held at a bound), else null
 * @param attentionPercent usage at which objects of an unwatched namespace call for a scan
 * @param tableFull        the node reports TableFull already: new drops need no wake-up
 */
public record CountWatch(boolean armed, long max, AutoscaleSpec raiseFor, int attentionPercent, boolean tableFull) {
    /** A connection storm: about 225,000 new entries per second from ab -c 5000 on 2 cores. */
    public static final double STORM_PER_SECOND = AutoRaisePlanner.STORM_PER_SECOND;
    /** Between reads while only watching for drops: at most this long, at least {@link #MIN_DETECTION_MILLIS}. */
    static final long MAX_DETECTION_MILLIS = 100;
    static final long MIN_DETECTION_MILLIS = 10;

    public static final CountWatch DISARMED = new CountWatch(false, 0, null, 0, false);

    static CountWatch after(NodeSample sample, AutoRaise autoRaise, int warningPercent, Duration pollInterval, boolean tableFull) {
        long max = sample.max();
        if (max <= 0) {
            return DISARMED;
        }
        AutoscaleSpec autoscale = autoRaise.spec();
        AutoscaleSpec raiseFor = autoscale != null && autoRaise.limitedBy() == AutoRaisePlanner.Limit.None ? autoscale : null;
        double stormFillsIn = (max - sample.count()) / STORM_PER_SECOND;
        // Without a raise to make, a table known to be full needs no watching: the poll reads it every
        // 200 ms meanwhile (PollPacing), and the next drop-free poll arms the watcher again.
        boolean armed = raiseFor != null || (!tableFull && stormFillsIn * 1e9 < pollInterval.toNanos());
        int attention = autoscale != null ? AutoRaisePlanner.watermark(autoscale) : warningPercent;
        return new CountWatch(armed, max, raiseFor, attention, tableFull);
    }

    /** Whether what the watcher read calls for a poll now. */
    public boolean raiseDue(long count, double growthPerSecond) {
        return raiseFor != null && AutoRaisePlanner.dueToRaise(raiseFor, count, max, growthPerSecond);
    }

    /** Objects of all namespaces together at the attention level while no watched table is: an unwatched namespace fills. */
    public boolean unattributed(long count, long allObjects) {
        return allObjects * 100 >= (long) attentionPercent * max && count * 100 < (long) attentionPercent * max;
    }

    /**
     * Milliseconds to the next read. With auto-raise: half the time the watermark is away at the
     * faster of the growth seen and a storm, within 2-10 ms. Watching for drops only: half the time
     * a storm takes to fill the table, within 10-100 ms.
     */
    public long intervalMillis(long count, double growthPerSecond) {
        double rate = Math.max(growthPerSecond, STORM_PER_SECOND);
        if (raiseFor != null) {
            return intervalMillis(count, max, attentionPercent, growthPerSecond);
        }
        double millisToFull = (max - count) * 1000 / rate;
        return Math.max(MIN_DETECTION_MILLIS, Math.min(MAX_DETECTION_MILLIS, (long) (millisToFull / 2)));
    }

    /** Half the time the watermark is away at the faster of the growth seen and a storm, within 2-10 ms. */
    public static long intervalMillis(long count, long max, long watermarkPercent, double growthPerSecond) {
        double headroom = watermarkPercent * max / 100.0 - count;
        double millisToWatermark = headroom * 1000 / Math.max(growthPerSecond, STORM_PER_SECOND);
        return Math.max(2, Math.min(10, (long) (millisToWatermark / 2)));
    }
}
