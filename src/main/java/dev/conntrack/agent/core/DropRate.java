package dev.conntrack.agent.core;

import java.time.Duration;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * Change between two consecutive polls.
 *
 * <p>A counter that went down (nf_conntrack reloaded, counters back at 0) gives no delta for that
 * interval rather than a negative or a since-reload figure: the next interval is exact again.
 *
 * @param dropsDelta             drops in the interval, empty if unknown
 * @param dropsPerSecond         dropsDelta / interval, empty if unknown
 * @param tableFullLogLinesDelta kmsg table-full lines in the interval, empty if unknown
 */
public record DropRate(Duration interval, OptionalLong dropsDelta, OptionalDouble dropsPerSecond,
                       OptionalLong tableFullLogLinesDelta) {

    /** Nothing to compare with yet (first poll). */
    public static final DropRate UNKNOWN = new DropRate(Duration.ZERO, OptionalLong.empty(), OptionalDouble.empty(), OptionalLong.empty());

    public static DropRate between(PollSample previous, PollSample current) {
        if (previous == null) {
            return UNKNOWN;
        }
        Duration interval = Duration.ofNanos(current.monotonicNanos() - previous.monotonicNanos());
        OptionalLong drops = delta(previous.drop(), current.drop());
        OptionalDouble perSecond = OptionalDouble.empty();
        if (drops.isPresent() && !interval.isNegative() && !interval.isZero()) {
            perSecond = OptionalDouble.of(drops.getAsLong() * 1e9 / interval.toNanos());
        }
        return new DropRate(interval, drops, perSecond, delta(previous.tableFullLogLines(), current.tableFullLogLines()));
    }

    /** The table was full during the interval: drop rose, or the kernel logged table-full lines. */
    public boolean tableFull() {
        return dropsDelta.orElse(0) > 0 || tableFullLogLinesDelta.orElse(0) > 0;
    }

    private static OptionalLong delta(OptionalLong before, OptionalLong after) {
        if (before.isEmpty() || after.isEmpty() || after.getAsLong() < before.getAsLong()) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(after.getAsLong() - before.getAsLong());
    }
}
