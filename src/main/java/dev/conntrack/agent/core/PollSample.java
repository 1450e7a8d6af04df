package dev.conntrack.agent.core;

import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.TableSnapshot;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * What one poll read: counters, table size and the kmsg table-full count, stamped with a
 * monotonic time (System.nanoTime(), never the wall clock, so rates survive clock steps).
 *
 * @param stats             counters, empty when no source was readable
 * @param table             count/max/buckets (parts may be empty)
 * @param tableFullLogLines kmsg table-full lines so far including attributed suppressed ones, empty
 *                          when kmsg is unavailable
 */
public record PollSample(long monotonicNanos, Optional<ConntrackStats> stats, TableSnapshot table,
                         OptionalLong tableFullLogLines) {

    public OptionalLong drop() {
        return stats.isPresent() ? stats.get().drop() : OptionalLong.empty();
    }

    /** count / max x 100, rounded to one decimal; empty when either is unknown or max is 0. */
    public OptionalDouble usagePercent() {
        if (table == null || table.count().isEmpty() || table.max().isEmpty()) {
            return OptionalDouble.empty();
        }
        return usagePercent(table.count().getAsLong(), table.max().getAsLong());
    }

    public static OptionalDouble usagePercent(long count, long max) {
        if (max <= 0) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(Math.round(count * 1000.0 / max) / 10.0);
    }
}
