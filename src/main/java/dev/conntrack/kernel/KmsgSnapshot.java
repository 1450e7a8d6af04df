package dev.conntrack.kernel;

import java.time.Instant;
import java.util.Optional;

/**
 * What the kmsg watcher has counted since it started (records logged before the start are not
 * counted).
 *
 * @param tableFullLines       "table full, dropping packet" lines read
 * @param suppressedAttributed net_ratelimit suppressed callbacks attributed to table-full
 * @param suppressedTotal      all net_ratelimit suppressed callbacks
 * @param lostRecords          records overwritten before we read them (sequence-number gaps)
 * @param brokenPipes          EPIPE reads (the reader fell behind the ring buffer)
 * @param lastTableFull        wall-clock time of the last table-full line, if any
 */
public record KmsgSnapshot(long tableFullLines, long suppressedAttributed, long suppressedTotal,
                           long lostRecords, long brokenPipes, Optional<Instant> lastTableFull) {
    public static final KmsgSnapshot EMPTY = new KmsgSnapshot(0, 0, 0, 0, 0, Optional.empty());

    /** For DropCounters.tableFullLogLines: printed lines plus the attributed suppressed ones. */
    public long tableFullIncludingSuppressed() {
        return tableFullLines + suppressedAttributed;
    }
}
