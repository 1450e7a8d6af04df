package dev.conntrack.agent;

import dev.conntrack.agent.core.CountWatch;
import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.ConntrackStatsParser;
import dev.conntrack.kernel.HostPaths;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reads the table between polls, because a NAT node under a connection storm fills its table in
 * tens of milliseconds: nf_conntrack_count, the hottest namespace's entries, the drop counters and
 * the conntrack objects of all namespaces. It decides nothing and writes nothing: it measures the
 * growth (for auto-raise to size its raise) and wakes the poll when the poll's {@link CountWatch}
 * says so, at most once per poll, exactly as the kernel log watcher wakes it on a "table full"
 * line. Each read is a positional read on a file kept open, so an armed watcher costs little, and
 * a disarmed one (no auto-raise, a table no storm fills before the next poll) costs nothing.
 */
final class TableCountWatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TableCountWatcher.class.getName());
    /** While disarmed the thread parks until {@link #rule} arms it, or after this at most. */
    static final long DISARMED_PARK_MILLIS = 30_000;

    /** Wakes the poll; RESCAN asks it to scan the namespaces first. */
    @FunctionalInterface
    interface Wake {
        void wake(boolean rescan);
    }

    private final Path countFile;
    private final Path slabObjects;
    private final Path initialStats;
    private final Wake wake;
    private final ConntrackStatsParser statsParser = new ConntrackStatsParser();
    private final ByteBuffer buffer = ByteBuffer.allocate(32);
    private volatile CountWatch rule = CountWatch.DISARMED;
    private volatile double growth;
    private volatile boolean running = true;
    private volatile Path hotStats;
    private volatile Thread thread;
    private FileChannel channel;
    private FileChannel slabChannel;
    private CountWatch ruleSeen;
    private boolean woken;
    private long dropsBaseline = -1;
    private long lastCount = -1;
    private long lastReadNanos;

    TableCountWatcher(HostPaths paths, Wake wake) {
        this(paths.conntrackCount(), paths.conntrackSlabObjects(), paths.conntrackStats(), wake);
    }

    TableCountWatcher(Path countFile, Path slabObjects, Path initialStats, Wake wake) {
        this.countFile = countFile;
        this.slabObjects = slabObjects;
        this.initialStats = initialStats;
        this.wake = wake;
    }

    /** What to look for until the next poll (every poll sets it); an armed rule starts the reads at once. */
    void rule(CountWatch next) {
        boolean arming = next.armed() && !rule.armed();
        rule = next;
        Thread t = thread;
        if (arming && t != null) {
            LockSupport.unpark(t);
        }
    }

    /** The table's growth at the newest read, entries per second; 0 when unknown, shrinking or disarmed. */
    double growthPerSecond() {
        return rule.armed() ? growth : 0;
    }

    /**
     * The stats file (/proc/PID/net/stat/nf_conntrack) of the network namespace with the most
     * entries, found by the namespace scan: each namespace has its own table under the one global
     * max, so a pod or a NAT namespace can fill while the node's own namespace is empty.
     */
    void watchNamespace(Path statsFile) {
        hotStats = statsFile;
    }

    /** Reads until {@link #close()}, on the calling thread (the agent gives it one). */
    void run() {
        thread = Thread.currentThread();
        while (running) {
            CountWatch current = rule;
            long sleepMillis = DISARMED_PARK_MILLIS;
            if (current.armed()) {
                try {
                    sleepMillis = tick(current);
                } catch (RuntimeException e) {
                    // The regular poll still sees everything, only later: keep watching.
                    LOG.log(Level.WARNING, "count watch failed", e);
                    sleepMillis = 100;
                }
            } else {
                lastCount = -1;
            }
            LockSupport.parkNanos(sleepMillis * 1_000_000);
        }
        channel = close(channel);
        slabChannel = close(slabChannel);
    }

    /** One round of reads; returns the milliseconds to the next. */
    long tick(CountWatch current) {
        if (current != ruleSeen) {
            ruleSeen = current;
            woken = false;
            dropsBaseline = -1;
        }
        long now = System.nanoTime();
        long count = readInitialCount();
        String hot = hotStats == null ? null : hotStats.toString();
        ConntrackStats hotStatsRead = readStats(hotStats);
        long hotEntries = hotStatsRead == null || hotStatsRead.entries().isEmpty() ? -1 : hotStatsRead.entries().getAsLong();
        long c = Math.max(count, hotEntries);
        long total = readSlabObjects();
        long drops = drops(readStats(initialStats)) + drops(hotStatsRead);
        if (hot != null && hotStatsRead == null) {
            hotStats = null; // the namespace went away (pod deleted): the next scan names another
        }
        double g = c >= 0 ? growthPerSecond(lastCount, lastReadNanos, c, now) : 0;
        growth = g;
        lastCount = c;
        lastReadNanos = now;
        boolean newDrops = dropsBaseline >= 0 && drops > dropsBaseline && !current.tableFull();
        if (dropsBaseline < 0) {
            dropsBaseline = drops;
        }
        boolean rescan = c >= 0 && current.unattributed(c, total);
        if (!woken && (newDrops || rescan || (c >= 0 && current.raiseDue(c, g)))) {
            woken = true;
            wake.wake(rescan);
        }
        return current.intervalMillis(Math.max(Math.max(c, total), 0), g);
    }

    private static long drops(ConntrackStats stats) {
        return stats == null || stats.drop().isEmpty() ? 0 : stats.drop().getAsLong();
    }

    /** The larger of the initial namespace's count and the hottest namespace's entries. */
    long readCount() {
        ConntrackStats hot = readStats(hotStats);
        long hotEntries = hot == null || hot.entries().isEmpty() ? -1 : hot.entries().getAsLong();
        return Math.max(readInitialCount(), hotEntries);
    }

    static double growthPerSecond(long previousCount, long previousNanos, long count, long nowNanos) {
        long elapsed = nowNanos - previousNanos;
        if (previousCount < 0 || elapsed <= 0 || count <= previousCount) {
            return 0;
        }
        return (count - previousCount) * 1e9 / elapsed;
    }

    /** The count, or -1 when the file cannot be read (module not loaded): the regular poll reports that. */
    long readInitialCount() {
        try {
            if (channel == null) {
                channel = FileChannel.open(countFile, StandardOpenOption.READ);
            }
            return readDecimal(channel);
        } catch (IOException e) {
            channel = close(channel);
            return -1;
        }
    }

    /** Allocated conntrack objects of every namespace together; -1 when the file is absent (no SLUB sysfs). */
    long readSlabObjects() {
        if (slabObjects == null) {
            return -1;
        }
        try {
            if (slabChannel == null) {
                slabChannel = FileChannel.open(slabObjects, StandardOpenOption.READ);
            }
            return readDecimal(slabChannel);
        } catch (IOException e) {
            slabChannel = close(slabChannel);
            return -1;
        }
    }

    /** Counters of a stats file, or null when it cannot be read (no file, namespace gone, odd content). */
    private ConntrackStats readStats(Path file) {
        if (file == null) {
            return null;
        }
        try {
            return statsParser.read(file);
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The first decimal number in the file, -1 when there is none. /proc/sys answers only reads
     * that start at offset 0, so each read is a positional read at 0 on the open channel.
     */
    private long readDecimal(FileChannel from) throws IOException {
        buffer.clear();
        int n = from.read(buffer, 0);
        long value = 0;
        boolean digits = false;
        for (int i = 0; i < n; i++) {
            byte b = buffer.get(i);
            if (b >= '0' && b <= '9') {
                value = value * 10 + (b - '0');
                digits = true;
            } else if (digits) {
                break;
            }
        }
        return digits ? value : -1;
    }

    private static FileChannel close(FileChannel c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (IOException ignored) {
            // reopened on the next read
        }
        return null;
    }

    @Override
    public void close() {
        running = false;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }
}
