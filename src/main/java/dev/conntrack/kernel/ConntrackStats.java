package dev.conntrack.kernel;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Conntrack counters of one namespace summed over all CPUs (cumulative since boot), plus the
 * table size (entries, taken once). A counter the source did not provide is unavailable, never 0:
 * a kernel without a column must not look like a kernel that never dropped a packet.
 */
public final class ConntrackStats {
    /** Where the numbers came from. */
    public enum Source { PROCFS, NETLINK }

    private static final StatCounter[] COUNTERS = StatCounter.values();

    private final long[] values;
    private final long presentMask;
    private final int cpuLines;
    private final Source source;

    ConntrackStats(long[] values, long presentMask, int cpuLines, Source source) {
        this.values = values.clone();
        this.presentMask = presentMask;
        this.cpuLines = cpuLines;
        this.source = source;
    }

    public static Builder builder(Source source) {
        return new Builder(source);
    }

    public OptionalLong get(StatCounter counter) {
        return has(counter) ? OptionalLong.of(values[counter.ordinal()]) : OptionalLong.empty();
    }

    public boolean has(StatCounter counter) {
        return (presentMask & (1L << counter.ordinal())) != 0;
    }

    public OptionalLong drop() { return get(StatCounter.DROP); }
    public OptionalLong earlyDrop() { return get(StatCounter.EARLY_DROP); }
    public OptionalLong insertFailed() { return get(StatCounter.INSERT_FAILED); }
    public OptionalLong invalid() { return get(StatCounter.INVALID); }
    public OptionalLong found() { return get(StatCounter.FOUND); }
    public OptionalLong insert() { return get(StatCounter.INSERT); }
    public OptionalLong searchRestart() { return get(StatCounter.SEARCH_RESTART); }
    public OptionalLong clashResolve() { return get(StatCounter.CLASH_RESOLVE); }
    /** The table size as the stats file reports it (first CPU line). */
    public OptionalLong entries() { return get(StatCounter.ENTRIES); }

    public Set<StatCounter> available() {
        Set<StatCounter> set = EnumSet.noneOf(StatCounter.class);
        for (StatCounter c : COUNTERS) {
            if (has(c)) {
                set.add(c);
            }
        }
        return set;
    }

    public Map<StatCounter, Long> asMap() {
        Map<StatCounter, Long> map = new EnumMap<>(StatCounter.class);
        for (StatCounter c : COUNTERS) {
            if (has(c)) {
                map.put(c, values[c.ordinal()]);
            }
        }
        return map;
    }

    public int cpuLines() {
        return cpuLines;
    }

    public Source source() {
        return source;
    }

    @Override
    public String toString() {
        return "ConntrackStats[" + source + ", cpus=" + cpuLines + ", " + asMap() + "]";
    }

    /** Accumulates per-CPU lines. */
    public static final class Builder {
        private final long[] values = new long[COUNTERS.length];
        private final Source source;
        private long presentMask;
        private int cpuLines;

        private Builder(Source source) {
            this.source = source;
        }

        /** Adds one CPU line's VALUE of COUNTER; entries is kept from the first line instead of summed. */
        public Builder add(StatCounter counter, long value) {
            int i = counter.ordinal();
            long bit = 1L << i;
            if (counter == StatCounter.ENTRIES) {
                if ((presentMask & bit) == 0) {
                    values[i] = value;
                }
            } else {
                values[i] += value;
            }
            presentMask |= bit;
            return this;
        }

        public Builder endCpuLine() {
            cpuLines++;
            return this;
        }

        public ConntrackStats build() {
            return new ConntrackStats(values, presentMask, cpuLines, source);
        }
    }
}
