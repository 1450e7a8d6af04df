package dev.conntrack.kernel;

/**
 * Counts conntrack "table full" evidence in kernel log records, one record at a time.
 *
 * <p>The table-full line is {@code nf_conntrack: nf_conntrack: table full, dropping packet} (the
 * prefix really is doubled), counted only as a kernel-facility record that starts with the prefix and
 * ends with "table full, dropping packet" (see {@link #isTableFull}). It goes through
 * net_ratelimit(): 10 lines per 5 s window shared by ALL rate-limited net messages, and at the
 * start of the next window the kernel logs {@code net_ratelimit: N callbacks suppressed} for the
 * previous window. N therefore says nothing about which message was suppressed. We attribute it
 * to table-full only when the last message before it was a table-full line (state kept across
 * records); any other message in between makes the next N count as "other". This undercounts
 * when unrelated messages interleave, which is the safe direction; the raw total is kept too.
 *
 * <p>Not thread-safe: fed by the single watcher thread.
 */
public final class KmsgParser {
    static final String TABLE_FULL = "table full, dropping packet";
    static final String PREFIX = "nf_conntrack: ";
    private static final String SUPPRESSED_PREFIX = "net_ratelimit: ";
    private static final String SUPPRESSED_SUFFIX = " callbacks suppressed";

    /** What one record was. */
    public enum Kind { TABLE_FULL, SUPPRESSED_AFTER_TABLE_FULL, SUPPRESSED_OTHER, OTHER }

    private long tableFullLines;
    private long suppressedAttributed;
    private long suppressedTotal;
    private long lastTableFullUsec = -1;
    private boolean lastMessageWasTableFull;

    public Kind accept(KmsgRecord record) {
        String message = record.message();
        if (!record.fromKernel()) {
            // Anyone with write access to /dev/kmsg can log "table full" as a user-space record: it
            // must not raise a table or pause a rollout. Such records do not even break a run of
            // the kernel's own lines.
            return Kind.OTHER;
        }
        if (isTableFull(message)) {
            tableFullLines++;
            lastTableFullUsec = record.usec();
            lastMessageWasTableFull = true;
            return Kind.TABLE_FULL;
        }
        long suppressed = suppressedCount(message);
        if (suppressed >= 0) {
            suppressedTotal += suppressed;
            // The state is kept: the window that follows starts with the message after this one.
            if (lastMessageWasTableFull) {
                suppressedAttributed += suppressed;
                return Kind.SUPPRESSED_AFTER_TABLE_FULL;
            }
            return Kind.SUPPRESSED_OTHER;
        }
        lastMessageWasTableFull = false;
        return Kind.OTHER;
    }

    /**
     * Exactly conntrack's own line: it starts with "nf_conntrack: " and ends with the text. A
     * netfilter LOG rule whose prefix quotes the text logs a kernel record too, but its prefix
     * (29 characters at most) is followed by the packet (" IN=... OUT=..."), so it never ends so.
     */
    static boolean isTableFull(String message) {
        return message.startsWith(PREFIX) && message.endsWith(TABLE_FULL);
    }

    /** N of "net_ratelimit: N callbacks suppressed", or -1 for any other message. */
    static long suppressedCount(String message) {
        if (!message.startsWith(SUPPRESSED_PREFIX) || !message.endsWith(SUPPRESSED_SUFFIX)) {
            return -1;
        }
        try {
            return Long.parseLong(message, SUPPRESSED_PREFIX.length(),
                    message.length() - SUPPRESSED_SUFFIX.length(), 10);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Table-full lines that made it into the log. */
    public long tableFullLines() {
        return tableFullLines;
    }

    /** Suppressed callbacks attributed to table-full (see class comment). */
    public long suppressedAttributed() {
        return suppressedAttributed;
    }

    /** All net_ratelimit suppressed callbacks, whatever message they were. */
    public long suppressedTotal() {
        return suppressedTotal;
    }

    /** Printed plus attributed suppressed lines: what DropCounters.tableFullLogLines reports. */
    public long tableFullIncludingSuppressed() {
        return tableFullLines + suppressedAttributed;
    }

    /** Monotonic usec of the last table-full line, -1 if none. */
    public long lastTableFullUsec() {
        return lastTableFullUsec;
    }
}
