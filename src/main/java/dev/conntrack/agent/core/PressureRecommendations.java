package dev.conntrack.agent.core;

import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.kernel.HeavyHitters;
import dev.conntrack.kernel.TableMemory;
import dev.conntrack.kernel.TableSummary;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Turns a table listing plus the node's figures into advice (what {@code conntrack -L | awk}
 * and a seasoned operator would conclude). Pure: no I/O, same answer for the same input.
 *
 * <ul>
 *   <li>TIME_WAIT above {@link #DOMINANT_SHARE} of the entries: suggest tcpTimeWait
 *       {@link #SUGGESTED_TIME_WAIT} when the current value is longer, with the entries it would
 *       free. Estimate: at a steady rate of closing connections the TIME_WAIT population is
 *       rate x timeout (Little's law), so it scales with the timeout: freed = TIME_WAIT entries x
 *       (1 - new / current), TIME_WAIT entries being the listed share applied to the live count.</li>
 *   <li>One source address above {@link #DOMINANT_SHARE}: name it (using the count the
 *       Space-Saving bound guarantees, never an estimate that might be high).</li>
 *   <li>Drops in the last interval: suggest max x 2 and buckets max / 4 (kube-proxy's ratio, only
 *       ever raised) with the extra kernel memory ({@link TableMemory#estimate}); when that is more
 *       than {@link #SPARE_MEMORY_SHARE} of MemAvailable, the largest max that fits, or, below
 *       +25%, no raise (NO_SPARE_MEMORY).</li>
 * </ul>
 */
public final class PressureRecommendations {
    public static final double DOMINANT_SHARE = 0.5;
    /**
     * Conntrack's default is 120 s, twice the 60 s TIME_WAIT the endpoints keep themselves; 30 s
     * still outlives the retransmissions of a closing connection and is the value commonly used
     * on busy NAT gateways.
     */
    public static final Duration SUGGESTED_TIME_WAIT = Duration.ofSeconds(30);
    /** A larger table may take at most this share of MemAvailable. */
    public static final double SPARE_MEMORY_SHARE = 0.10;
    /** Raising by less than this is not worth advising: the table would be full again at once. */
    static final double MIN_USEFUL_RAISE = 1.25;

    /**
     * The node's figures at the time of the listing.
     *
     * @param count             nf_conntrack_count (the listing may have been cut short)
     * @param max               nf_conntrack_max
     * @param buckets           nf_conntrack_buckets
     * @param drops             drops over the last poll interval
     * @param objectSize        bytes per entry from /proc/slabinfo, empty for the documented default
     * @param tcpTimeWait       the live TIME_WAIT timeout
     * @param memAvailableBytes MemAvailable from /proc/meminfo
     */
    public record Context(OptionalLong count, OptionalLong max, OptionalLong buckets, DropRate drops,
                          OptionalInt objectSize, Optional<Duration> tcpTimeWait, OptionalLong memAvailableBytes) {
        public Context {
            Objects.requireNonNull(count, "count");
            Objects.requireNonNull(max, "max");
            Objects.requireNonNull(buckets, "buckets");
            drops = drops == null ? DropRate.UNKNOWN : drops;
            Objects.requireNonNull(objectSize, "objectSize");
            Objects.requireNonNull(tcpTimeWait, "tcpTimeWait");
            Objects.requireNonNull(memAvailableBytes, "memAvailableBytes");
        }

        /** From what a poll read anyway; the caller adds object size, the live tcpTimeWait and MemAvailable. */
        public static Context of(PollSample sample, DropRate drops, OptionalInt objectSize, Optional<Duration> tcpTimeWait,
                                 OptionalLong memAvailableBytes) {
            return new Context(sample.table().count(), sample.table().max(), sample.table().buckets(), drops,
                    objectSize, tcpTimeWait, memAvailableBytes);
        }
    }

    private PressureRecommendations() {
    }

    public static List<Recommendation> recommend(TableSummary summary, Context context) {
        Objects.requireNonNull(summary, "summary");
        Objects.requireNonNull(context, "context");
        List<Recommendation> out = new ArrayList<>(3);
        if (summary.entries() > 0) {
            timeWait(summary, context).ifPresent(out::add);
            dominantSource(summary).ifPresent(out::add);
        }
        raiseMax(context).ifPresent(out::add);
        return out;
    }

    private static Optional<Recommendation> timeWait(TableSummary summary, Context context) {
        long timeWait = summary.tcpState("TIME_WAIT");
        double share = summary.share(timeWait);
        if (share <= DOMINANT_SHARE) {
            return Optional.empty();
        }
        String seen = "TIME_WAIT holds " + percent(share) + " of the table (" + timeWait + " of " + listed(summary) + ").";
        String suggested = seconds(SUGGESTED_TIME_WAIT);
        List<Recommendation.SuggestedSetting> setting = List.of(new Recommendation.SuggestedSetting("tcpTimeWait", suggested));
        if (context.tcpTimeWait().isEmpty()) {
            return Optional.of(new Recommendation(Recommendation.Kind.TIME_WAIT_DOMINATES, seen + " A shorter tcpTimeWait ("
                    + suggested + ") frees entries in proportion to the timeout (current value unknown, so no estimate).", setting));
        }
        Duration current = context.tcpTimeWait().get();
        if (current.compareTo(SUGGESTED_TIME_WAIT) <= 0) {
            return Optional.empty(); // already short: the connection rate is the problem, not the timeout
        }
        long live = context.count().orElse(summary.entries());
        long timeWaitLive = Math.round(share * live);
        double ratio = (double) SUGGESTED_TIME_WAIT.toMillis() / current.toMillis();
        long freed = Math.round(timeWaitLive * (1 - ratio));
        String message = seen + " tcpTimeWait " + seconds(current) + " -> " + suggested + " would free about " + freed
                + " entries (estimate: at a steady rate of closing connections, TIME_WAIT entries = rate x timeout, so "
                + timeWaitLive + " x (1 - " + SUGGESTED_TIME_WAIT.toSeconds() + "/" + current.toSeconds() + ")). "
                + "The hosts keep their own TIME_WAIT; only the conntrack entry goes earlier.";
        return Optional.of(new Recommendation(Recommendation.Kind.TIME_WAIT_DOMINATES, message, setting));
    }

    private static Optional<Recommendation> dominantSource(TableSummary summary) {
        if (summary.topSources().isEmpty()) {
            return Optional.empty();
        }
        HeavyHitters.Top top = summary.topSources().get(0);
        double share = summary.share(top.guaranteedCount());
        if (share <= DOMINANT_SHARE) {
            return Optional.empty();
        }
        String count = top.maxOverestimate() == 0 ? Long.toString(top.count()) : "at least " + top.guaranteedCount();
        String message = "One source address holds " + percent(share) + " of the table: " + top.key() + " (" + count + " of "
                + listed(summary) + "). Look at that client first (conntrack -L -s " + top.key()
                + "; a pod IP: kubectl get pods -A -o wide --field-selector status.podIP=" + top.key() + ").";
        return Optional.of(new Recommendation(Recommendation.Kind.SOURCE_DOMINATES, message, List.of()));
    }

    private static Optional<Recommendation> raiseMax(Context context) {
        OptionalLong dropped = context.drops().dropsDelta();
        if (dropped.isEmpty() || dropped.getAsLong() <= 0 || context.max().isEmpty() || context.max().getAsLong() <= 0) {
            return Optional.empty();
        }
        long max = context.max().getAsLong();
        long buckets = context.buckets().orElse(0);
        int objectSize = context.objectSize().orElse(TableMemory.DEFAULT_OBJECT_SIZE);
        long now = TableMemory.estimate(max, buckets, objectSize);
        String seen = "The table is full: " + dropped.getAsLong() + " packets dropped in the last "
                + seconds(context.drops().interval()) + ".";
        long target = Math.min(2 * max, Integer.MAX_VALUE);
        if (target <= max) {
            return Optional.empty(); // already at the largest max the kernel takes
        }
        String costBasis = " (entries x " + objectSize + " bytes + buckets x " + TableMemory.BUCKET_HEAD_SIZE + " bytes)";
        if (context.memAvailableBytes().isPresent()) {
            long spare = (long) (context.memAvailableBytes().getAsLong() * SPARE_MEMORY_SHARE);
            if (extra(target, buckets, objectSize, now) > spare) {
                long fit = largestFitting(max, target, buckets, objectSize, now, spare);
                if (fit < max * MIN_USEFUL_RAISE) {
                    String message = seen + " Doubling max to " + target + " would take " + bytes(extra(target, buckets, objectSize, now))
                            + " more kernel memory" + costBasis + ", more than " + percent(SPARE_MEMORY_SHARE) + " of the "
                            + bytes(context.memAvailableBytes().getAsLong()) + " available: free entries instead (shorter timeouts, the busiest clients).";
                    return Optional.of(new Recommendation(Recommendation.Kind.NO_SPARE_MEMORY, message, List.of()));
                }
                target = fit;
            }
        }
        long targetBuckets = Math.min(Math.max(buckets, target / 4), ConntrackSettings.MAX_BUCKETS);
        long extra = extra(target, buckets, objectSize, now);
        List<Recommendation.SuggestedSetting> settings = new ArrayList<>(2);
        settings.add(new Recommendation.SuggestedSetting("max", Long.toString(target)));
        StringBuilder message = new StringBuilder(seen).append(" Raising max ").append(max).append(" -> ").append(target);
        if (targetBuckets > buckets) {
            settings.add(new Recommendation.SuggestedSetting("buckets", Long.toString(targetBuckets)));
            message.append(" and buckets ").append(buckets).append(" -> ").append(targetBuckets).append(" (max / 4, as kube-proxy sizes them)");
        }
        message.append(" costs up to ").append(bytes(extra)).append(" more kernel memory").append(costBasis);
        if (context.memAvailableBytes().isPresent()) {
            long available = context.memAvailableBytes().getAsLong();
            message.append(", ").append(percent((double) extra / available)).append(" of the ").append(bytes(available)).append(" available.");
        } else {
            message.append("; available memory unknown.");
        }
        return Optional.of(new Recommendation(Recommendation.Kind.RAISE_MAX, message.toString(), settings));
    }

    /** Extra bytes of a table of max TARGET (and buckets raised to TARGET / 4 when below) over NOW. */
    private static long extra(long target, long buckets, int objectSize, long now) {
        long targetBuckets = Math.min(Math.max(buckets, target / 4), ConntrackSettings.MAX_BUCKETS);
        return TableMemory.estimate(target, targetBuckets, objectSize) - now;
    }

    /** The largest max in [MAX, TARGET] whose extra memory fits in SPARE (memory grows with max: binary search). */
    private static long largestFitting(long max, long target, long buckets, int objectSize, long now, long spare) {
        long lo = max;
        long hi = target;
        while (lo < hi) {
            long mid = lo + (hi - lo + 1) / 2;
            if (extra(mid, buckets, objectSize, now) <= spare) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private static String listed(TableSummary summary) {
        String what = summary.entries() + " entries listed";
        switch (summary.truncation()) {
            case ENTRY_CAP:
                return what + ", the listing stopped at its entry cap";
            case DEADLINE:
                return what + ", the listing stopped at its deadline";
            default:
                return what;
        }
    }

    private static String percent(double share) {
        double p = share * 100;
        if (p >= 99.95 && share < 1) {
            return "99.9%";
        }
        return (p == Math.rint(p) ? String.format(Locale.ROOT, "%.0f", p) : String.format(Locale.ROOT, "%.1f", p)) + "%";
    }

    private static String seconds(Duration d) {
        return d.toSeconds() + "s";
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : "%.1f %s", v, units[u]);
    }
}
