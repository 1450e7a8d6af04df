package dev.conntrack.kernel;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Lists a conntrack table once and counts it into a {@link TableSummary}: one streaming pass
 * through a reused byte buffer, fields found by hand (no regex, no String per line), counts in
 * memory fixed by {@link Limits} whatever the table size. Bounded in entries and in time; the
 * summary says when it stopped early.
 *
 * <p>Source: {@code /proc/net/nf_conntrack}; when that file does not exist
 * (CONFIG_NF_CONNTRACK_PROCFS off) {@code conntrack -L -o extended} over netlink, streamed from the
 * command's stdout (needs CAP_NET_ADMIN and the binary in the image). For another network
 * namespace, {@link #summarize(long)} reads {@code /proc/PID/net/nf_conntrack} without entering it.
 *
 * <p>Listing is the expensive operation that the agent otherwise avoids (the kernel formats every
 * entry: a few hundred thousand entries per second on 2 cores). Call it on pressure, rate limited,
 * never on a schedule. Not thread-safe: one instance per thread (it owns the buffer).
 */
public final class ConntrackTableSummarizer {
    static final List<String> CONNTRACK_LIST = List.of("conntrack", "-L", "-o", "extended");
    /** The command gets this much longer than the deadline before it is killed. */
    private static final Duration COMMAND_GRACE = Duration.ofSeconds(2);
    /** A procfs read returns at most a page; a pipe up to 64 KiB. Lines are < 512 bytes. */
    private static final int BUFFER_SIZE = 64 * 1024;

    /**
     * @param maxEntries          stop after this many entries (Truncation.ENTRY_CAP)
     * @param deadline            stop reading after this long (Truncation.DEADLINE)
     * @param topK                length of the top lists
     * @param heavyHitterCounters counters per address list: exact up to this many distinct
     *                            addresses, Space-Saving beyond (overestimate <= entries / counters)
     */
    public record Limits(long maxEntries, Duration deadline, int topK, int heavyHitterCounters) {
        /**
         * 1M entries and 5 s cover a table sized by kube-proxy's default (32768 per core) on a
         * 32-core node; 8192 counters keep the address lists within 122 of the truth at 1M entries
         * in ~1.5 MiB (two lists of 8192 x 64-byte keys plus counters).
         */
        public static final Limits DEFAULT = new Limits(1_000_000, Duration.ofSeconds(5), 10, 8192);

        public Limits {
            if (maxEntries < 1 || maxEntries > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("maxEntries must be 1.." + Integer.MAX_VALUE + ": " + maxEntries);
            }
            Objects.requireNonNull(deadline, "deadline");
            if (deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("deadline must be positive: " + deadline);
            }
            if (topK < 1 || topK > 1000) {
                throw new IllegalArgumentException("topK must be 1..1000: " + topK);
            }
            if (heavyHitterCounters < topK || heavyHitterCounters > 1 << 20) {
                throw new IllegalArgumentException("heavyHitterCounters must be topK.." + (1 << 20) + ": " + heavyHitterCounters);
            }
        }
    }

    private final HostPaths paths;
    private final CommandRunner commands;
    private final Limits limits;
    private final LongSupplier nanoTime;
    private final byte[] buffer = new byte[BUFFER_SIZE];
    private final ConntrackEntryParser parser = new ConntrackEntryParser();

    public ConntrackTableSummarizer(HostPaths paths, CommandRunner commands, Limits limits) {
        this(paths, commands, limits, System::nanoTime);
    }

    /** NANO_TIME: a monotonic clock (System::nanoTime), injectable so deadline tests need no sleeping. */
    public ConntrackTableSummarizer(HostPaths paths, CommandRunner commands, Limits limits, LongSupplier nanoTime) {
        this.paths = Objects.requireNonNull(paths, "paths");
        this.commands = Objects.requireNonNull(commands, "commands");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    }

    /**
     * The table of the reading process's namespace (the host's, for a hostNetwork agent).
     *
     * @throws IOException with a message fit for a status line when neither the procfs file nor the
     *     conntrack command could be read
     */
    public TableSummary summarize() throws IOException {
        Path file = paths.conntrackTable();
        InputStream in;
        try {
            in = new FileInputStream(file.toFile());
        } catch (IOException e) {
            IoFailure failure = IoErrors.classify(e);
            if (failure.reason() != FailureReason.NotFound) {
                throw new IOException(display(file) + " unreadable: " + failure.errnoText(), e);
            }
            return summarizeCommand(display(file));
        }
        try (in) {
            return summarize(in, TableSummary.Source.PROCFS);
        }
    }

    /**
     * The table of the network namespace PID lives in, from /proc/PID/net/nf_conntrack (no netlink
     * fallback: that would need entering the namespace).
     */
    public TableSummary summarize(long pid) throws IOException {
        Path file = paths.conntrackTable(pid);
        try (InputStream in = new FileInputStream(file.toFile())) {
            return summarize(in, TableSummary.Source.PROCFS);
        } catch (IOException e) {
            throw new IOException("table of pid " + pid + ": " + display(file) + " unreadable: " + IoErrors.errnoText(e), e);
        }
    }

    /** Counts the lines of IN (either format) until its end, the entry cap or the deadline. */
    public TableSummary summarize(InputStream in, TableSummary.Source source) throws IOException {
        long start = nanoTime.getAsLong();
        long deadline = start + limits.deadline().toNanos();
        TableSummaryBuilder counts = new TableSummaryBuilder(limits.topK(), limits.heavyHitterCounters());
        byte[] buf = buffer;
        int filled = 0;
        boolean skippingLongLine = false;
        TableSummary.Truncation truncation = TableSummary.Truncation.NONE;
        reading:
        while (true) {
            if (nanoTime.getAsLong() - deadline >= 0) {
                truncation = TableSummary.Truncation.DEADLINE;
                break;
            }
            int n = in.read(buf, filled, buf.length - filled);
            if (n < 0) {
                // A last line without a newline still counts.
                if (filled > 0 && !skippingLongLine) {
                    if (counts.entries() >= limits.maxEntries()) {
                        truncation = TableSummary.Truncation.ENTRY_CAP;
                    } else {
                        line(buf, 0, filled, counts);
                    }
                }
                break;
            }
            int end = filled + n;
            int lineStart = 0;
            for (int i = filled; i < end; i++) {
                if (buf[i] != '\n') {
                    continue;
                }
                if (skippingLongLine) {
                    skippingLongLine = false;
                } else if (!isBlank(buf, lineStart, i)) {
                    if (counts.entries() >= limits.maxEntries()) {
                        truncation = TableSummary.Truncation.ENTRY_CAP;
                        break reading;
                    }
                    line(buf, lineStart, i, counts);
                }
                lineStart = i + 1;
            }
            filled = end - lineStart;
            if (filled == buf.length) {
                // No newline in a whole buffer: not a conntrack line. Skip to the next newline.
                if (!skippingLongLine) {
                    counts.malformed(buf, 0, filled, "line longer than " + buf.length + " bytes");
                }
                skippingLongLine = true;
                filled = 0;
            } else if (filled > 0 && lineStart > 0) {
                System.arraycopy(buf, lineStart, buf, 0, filled);
            }
        }
        return counts.build(source, truncation, Duration.ofNanos(nanoTime.getAsLong() - start));
    }

    public Limits limits() {
        return limits;
    }

    private void line(byte[] buf, int start, int end, TableSummaryBuilder counts) {
        if (parser.parse(buf, start, end)) {
            counts.add(parser, buf);
        } else {
            counts.malformed(buf, start, end, parser.problem);
        }
    }

    private TableSummary summarizeCommand(String missingFile) throws IOException {
        String what = missingFile + " missing and " + String.join(" ", CONNTRACK_LIST);
        CommandRunner.Streamed<TableSummary> run;
        try {
            run = commands.stream(CONNTRACK_LIST, limits.deadline().plus(COMMAND_GRACE),
                    stdout -> summarize(stdout, TableSummary.Source.CONNTRACK_CLI));
        } catch (IOException e) {
            throw new IOException(what + " unavailable: " + e.getMessage(), e);
        }
        TableSummary summary = run.value();
        // A listing we stopped reading was killed on purpose; only a complete one has a meaningful exit code.
        if (!summary.truncated() && run.exitCode() != 0) {
            throw new IOException(what + " failed (exit " + run.exitCode() + ")");
        }
        return summary;
    }

    private static boolean isBlank(byte[] buf, int start, int end) {
        for (int i = start; i < end; i++) {
            if (!ProcReader.isSpace(buf[i])) {
                return false;
            }
        }
        return true;
    }

    /** The path as it is on the host, not under a test root. */
    private String display(Path file) {
        return "/" + paths.root().relativize(file);
    }
}
