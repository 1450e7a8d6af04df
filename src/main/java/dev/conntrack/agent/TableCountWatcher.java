package dev.conntrack.agent;

import dev.conntrack.agent.core.AutoRaisePlanner;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Reads nf_conntrack_count between polls while auto-raise is on, because a NAT node under a
 * connection storm fills its table in tens of milliseconds: raising after the first drops is
 * already late. Each read also yields the growth rate since the previous one, so the raise can be
 * sized ahead of the storm. The interval adapts to the time left before the watermark at the
 * faster of the measured growth and an assumed storm ({@value #ASSUMED_STORM_PER_SECOND} new
 * entries/s): 10 ms while there is room, down to 2 ms when the watermark is near. Each read is one
 * positional read on a file kept open, so an idle node pays little for it.
 */
final class TableCountWatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TableCountWatcher.class.getName());
    private final Path countFile;
    private final LongSupplier max;
    private final LongSupplier watermarkPercent;
    static final double ASSUMED_STORM_PER_SECOND = AutoRaisePlanner.STORM_PER_SECOND;
    /** While auto-raise is off the thread costs nothing: it wakes on {@link #arm()}, or after this. */
    static final long DISARMED_PARK_MILLIS = 30_000;

    /** What the watcher saw: the count and its growth since the previous read. */
    @FunctionalInterface
    interface CountListener {
        /** @param growthPerSecond entries per second since the previous read; 0 when unknown or shrinking */
        void onCount(long count, double growthPerSecond);
    }

    private final CountListener onCount;
    private long lastCount = -1;
    private long lastReadNanos;
    private final Path slabObjects;
    private final LongConsumer onUnattributed;
    private FileChannel slabChannel;
    private final ByteBuffer buffer = ByteBuffer.allocate(32);
    private final ByteBuffer statBuffer = ByteBuffer.allocate(512);
    private volatile boolean running = true;
    private FileChannel channel;
    private volatile Path hotStats;
    private Path openHotStats;
    private FileChannel hotChannel;
    private volatile Thread thread;

    /**
     * @param watermarkPercent 0 while auto-raise is off (the watcher then idles)
     * @param onCount          called with every count read; it decides whether to raise
     */
    TableCountWatcher(Path countFile, LongSupplier max, LongSupplier watermarkPercent, CountListener onCount) {
        this(countFile, null, max, watermarkPercent, onCount, total -> { });
    }

    /**
     * @param slabObjects    conntrack objects of all namespaces together (may be null): when they
     *                       pass the watermark while no watched table does, some other namespace
     *                       is filling and {@code onUnattributed} gets the total (the agent rescans)
     */
    TableCountWatcher(Path countFile, Path slabObjects, LongSupplier max, LongSupplier watermarkPercent,
            CountListener onCount, LongConsumer onUnattributed) {
        this.countFile = countFile;
        this.slabObjects = slabObjects;
        this.max = max;
        this.watermarkPercent = watermarkPercent;
        this.onCount = onCount;
        this.onUnattributed = onUnattributed;
    }

    void start() {
        thread = new Thread(this::run, "conntrack-count-watch");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        while (running) {
            long watermark = watermarkPercent.getAsLong();
            // Disarmed (auto-raise off): sleep until arm() wakes it; the long park is only a safety net.
            long sleepMillis = DISARMED_PARK_MILLIS;
            if (watermark > 0) {
                try {
                    long count = readCount();
                    long now = System.nanoTime();
                    long limit = max.getAsLong();
                    if (count >= 0 && limit > 0) {
                        double growth = growthPerSecond(lastCount, lastReadNanos, count, now);
                        lastCount = count;
                        lastReadNanos = now;
                        onCount.onCount(count, growth);
                        long total = readSlabObjects();
                        if (total * 100 >= watermark * limit && count * 100 < watermark * limit) {
                            onUnattributed.accept(total);
                        }
                        sleepMillis = intervalMillis(Math.max(count, total), limit, watermark, growth);
                    } else {
                        lastCount = -1;
                    }
                } catch (RuntimeException e) {
                    // The regular poll still enforces and raises on drops; keep watching.
                    LOG.log(Level.WARNING, "count watch failed", e);
                }
            }
            LockSupport.parkNanos(sleepMillis * 1_000_000);
        }
    }

    /** Auto-raise was switched on: start reading now instead of after the disarmed park. */
    void arm() {
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /**
     * The stats file (/proc/PID/net/stat/nf_conntrack) of the network namespace with the most
     * entries, found by the namespace scan: each namespace has its own table under the one global
     * max, so a pod or a NAT namespace can fill while the node's own namespace is empty.
     */
    void watchNamespace(Path statsFile) {
        hotStats = statsFile;
    }

    /** The larger of the initial namespace's count and the hottest namespace's entries. */
    long readCount() {
        long count = readInitialCount();
        long hot = readHotEntries();
        return Math.max(count, hot);
    }

    static double growthPerSecond(long previousCount, long previousNanos, long count, long nowNanos) {
        long elapsed = nowNanos - previousNanos;
        if (previousCount < 0 || elapsed <= 0 || count <= previousCount) {
            return 0;
        }
        return (count - previousCount) * 1e9 / elapsed;
    }

    /** Half the time the watermark is away at the faster of the growth seen and a storm, within 2-10 ms. */
    static long intervalMillis(long count, long max, long watermarkPercent, double growthPerSecond) {
        double headroom = watermarkPercent * max / 100.0 - count;
        double millisToWatermark = headroom * 1000 / Math.max(growthPerSecond, ASSUMED_STORM_PER_SECOND);
        return Math.max(2, Math.min(10, (long) (millisToWatermark / 2)));
    }

    /** The count, or -1 when the file cannot be read (module not loaded): the regular poll reports that. */
    long readInitialCount() {
        try {
            if (channel == null) {
                channel = FileChannel.open(countFile, StandardOpenOption.READ);
            }
            return readDecimal(channel);
        } catch (IOException e) {
            closeChannel();
            return -1;
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
            return -1;
        }
    }

    /** entries of the hottest namespace: the first (hex) column of the first CPU line; -1 when unknown. */
    long readHotEntries() {
        Path wanted = hotStats;
        try {
            if (wanted == null) {
                closeHot();
                return -1;
            }
            if (!wanted.equals(openHotStats)) {
                closeHot();
                hotChannel = FileChannel.open(wanted, StandardOpenOption.READ);
                openHotStats = wanted;
            }
            statBuffer.clear();
            int n = hotChannel.read(statBuffer, 0);
            int i = 0;
            while (i < n && statBuffer.get(i) != '\n') {
                i++;
            }
            long value = 0;
            boolean digits = false;
            for (i++; i < n; i++) {
                int d = Character.digit(statBuffer.get(i), 16);
                if (d >= 0) {
                    value = value * 16 + d;
                    digits = true;
                } else if (digits) {
                    break;
                }
            }
            return digits ? value : -1;
        } catch (IOException e) {
            // The namespace went away (pod deleted): the next scan names another.
            closeHot();
            hotStats = null;
            return -1;
        }
    }

    private void closeHot() {
        try {
            if (hotChannel != null) {
                hotChannel.close();
            }
        } catch (IOException ignored) {
            // reopened on demand
        }
        hotChannel = null;
        openHotStats = null;
    }

    private void closeChannel() {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // reopened on the next read
        }
        channel = null;
    }

    @Override
    public void close() {
        running = false;
        if (thread != null) {
            LockSupport.unpark(thread);
        }
        closeChannel();
        closeHot();
    }
}
