package dev.conntrack.agent.core;

import dev.conntrack.api.NamespaceSummary;
import dev.conntrack.kernel.KmsgSnapshot;
import dev.conntrack.kernel.StatsReading;
import dev.conntrack.kernel.TableSnapshot;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Everything one poll read from the node, before any decision: the busiest table, the counters,
 * the kernel log, the other network namespaces and the count watcher's growth measure. The poll
 * cycle decides and builds the status from this alone.
 *
 * @param reading         the node's own counters (and why they could not be read)
 * @param growthPerSecond the table's growth measured between polls by the count watcher, 0 when unknown
 * @param logUnavailable  why the kernel log cannot be read, if it cannot
 * @param objectSize      the kernel's conntrack object size (/proc/slabinfo), empty while unknown
 */
public record NodeSample(PollSample poll, StatsReading reading, KmsgSnapshot log, Optional<String> logUnavailable,
                         Namespaces namespaces, double growthPerSecond, OptionalInt objectSize) {

    /**
     * The node's other network namespaces as the last scan and the hottest one's counters show them.
     *
     * @param otherDropsDelta drops in other namespaces since the previous poll
     * @param droppingText    " in network namespace net:[...] (pid ...)" when another namespace drops, else ""
     * @param allDrops        drops of every namespace together, null when unknown
     * @param summaries       the busiest namespaces for status.namespaces, null before the first scan
     */
    public record Namespaces(long otherDropsDelta, String droppingText, Long allDrops, List<NamespaceSummary> summaries) {
        public static final Namespaces NONE = new Namespaces(0, "", null, null);
    }

    public TableSnapshot table() {
        return poll.table();
    }

    /** The same sample with the table read again (after enforcement wrote max or buckets). */
    public NodeSample withTable(TableSnapshot table) {
        return new NodeSample(new PollSample(poll.monotonicNanos(), poll.stats(), table, poll.tableFullLogLines()),
                reading, log, logUnavailable, namespaces, growthPerSecond, objectSize);
    }

    /** Entries of the busiest table, 0 when unknown. */
    public long count() {
        return orZero(table().count());
    }

    public long max() {
        return orZero(table().max());
    }

    public long buckets() {
        return orZero(table().buckets());
    }

    private static long orZero(OptionalLong v) {
        return v.isPresent() ? v.getAsLong() : 0;
    }
}
