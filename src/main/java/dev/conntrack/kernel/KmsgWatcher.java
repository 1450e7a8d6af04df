package dev.conntrack.kernel;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Follows /dev/kmsg and counts table-full evidence (see {@link KmsgParser}); {@link #follow()} runs
 * on a thread the agent gives it.
 *
 * <p>Start from the end: Java cannot lseek(SEEK_END) a character device, so every record the ring
 * buffer still holds is read and those logged before the watcher started are skipped by their
 * timestamp: the start threshold is the first field of /proc/uptime read at {@link #open()}.
 * (kmsg stamps use the monotonic clock, /proc/uptime includes suspended time; nodes do not
 * suspend, and a difference would only skip more history, never count old records.)
 *
 * <p>Reads: one read of up to 8192 bytes returns exactly one record on the character device; a
 * regular file (tests, fake trees) returns chunks with several or partial lines. Both are handled
 * by splitting on '\n' and keeping a partial tail; lines starting with a space are the record's
 * KEY=value continuation lines and are ignored.
 *
 * <p>EPIPE ("Broken pipe") means the kernel overwrote records we had not read yet: count it and
 * read on (the kernel has moved our position to the oldest record still there). Lost records are
 * counted from sequence-number gaps. Permission denied (no CAP_SYSLOG) or a missing /dev/kmsg
 * mark the signal unavailable and end the thread cleanly.
 */
public final class KmsgWatcher implements Closeable {
    private static final Logger LOG = Logger.getLogger(KmsgWatcher.class.getName());
    /** The largest record the kernel hands out (CONSOLE_EXT_LOG_MAX); a smaller read gets EINVAL. */
    static final int RECORD_BUFFER = 8192;

    private final HostPaths paths;
    private final Clock clock;
    private final KmsgSource.Opener opener;
    private final Duration eofBackoff;
    private final KmsgParser parser = new KmsgParser();
    private final byte[] readBuffer = new byte[RECORD_BUFFER];
    private byte[] line = new byte[256];
    private int lineLength;
    private long lastSequence = -1;
    private long lostRecords;
    private long brokenPipes;
    private long startUsec;
    private Instant bootTime;

    private volatile KmsgSnapshot snapshot = KmsgSnapshot.EMPTY;
    private volatile String unavailable;
    private volatile boolean running;
    private volatile boolean following;
    private volatile KmsgSource source;
    private Thread thread;

    private volatile Runnable tableFullListener;

    public KmsgWatcher(HostPaths paths, Clock clock) {
        this(paths, clock, KmsgSource::openChannel, Duration.ofSeconds(1));
    }

    /**
     * @param eofBackoff how long to wait at end of file before reading again; only regular files
     *     ever report an end (the device blocks in read instead)
     */
    public KmsgWatcher(HostPaths paths, Clock clock, KmsgSource.Opener opener, Duration eofBackoff) {
        this.paths = Objects.requireNonNull(paths, "paths");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.opener = Objects.requireNonNull(opener, "opener");
        this.eofBackoff = Objects.requireNonNull(eofBackoff, "eofBackoff");
    }

    /**
     * Fixes the start threshold and opens /dev/kmsg. False when it cannot be read ({@link
     * #unavailable()} says why): then there is nothing to follow.
     */
    public synchronized boolean open() {
        if (running) {
            throw new IllegalStateException("already open");
        }
        running = true;
        if (!prepare()) {
            running = false;
            return false;
        }
        return true;
    }

    /** Follows the log on the calling thread (the agent gives it one) until {@link #close()}. */
    public void follow() {
        synchronized (this) {
            thread = Thread.currentThread();
        }
        following = true;
        try {
            pump(true);
        } finally {
            following = false;
        }
    }

    /**
     * Without a thread: fixes the start threshold, opens, reads until end of file and closes.
     * Meant for regular files (tests); on the character device it would block forever.
     */
    synchronized void drainOnce() {
        running = true;
        if (prepare()) {
            pump(false);
        }
        running = false;
        closeSource();
    }

    public KmsgSnapshot snapshot() {
        return snapshot;
    }

    /** Why the signal is unavailable (e.g. "kmsg: /dev/kmsg unreadable: Permission denied"), if it is. */
    public Optional<String> unavailable() {
        return Optional.ofNullable(unavailable);
    }

    /** Whether {@link #follow()} is reading the log now. */
    public boolean isRunning() {
        return following;
    }

    /** Stops the thread: closing the FileChannel wakes a read blocked on the device. */
    @Override
    public void close() {
        running = false;
        closeSource();
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private boolean prepare() {
        startUsec = startThresholdUsec();
        bootTime = clock.instant().minusNanos(startUsec * 1000);
        Path path = paths.devKmsg();
        try {
            source = opener.open(path);
            return true;
        } catch (IOException e) {
            markUnavailable(e);
            return false;
        }
    }

    /** Uptime now, in usec; 0 (count everything the buffer holds) if /proc/uptime is unreadable. */
    private long startThresholdUsec() {
        try {
            String uptime = new ProcReader(128).readTrimmed(paths.uptime());
            int space = uptime.indexOf(' ');
            String seconds = space < 0 ? uptime : uptime.substring(0, space);
            return new java.math.BigDecimal(seconds).movePointRight(6).longValue();
        } catch (IOException | NumberFormatException e) {
            LOG.log(Level.WARNING, "cannot read /proc/uptime ({0}); kernel log history since boot will be counted", e.getMessage());
            return 0;
        }
    }

    private void pump(boolean follow) {
        KmsgSource in = source;
        while (running && in != null) {
            int n;
            try {
                n = in.read(readBuffer);
            } catch (IOException e) {
                if (!running || e instanceof ClosedChannelException) {
                    break;
                }
                if (isBrokenPipe(e)) {
                    brokenPipes++;
                    lineLength = 0;
                    publish();
                    continue;
                }
                markUnavailable(e);
                break;
            }
            if (n < 0) {
                if (!follow) {
                    break;
                }
                try {
                    Thread.sleep(eofBackoff.toMillis());
                } catch (InterruptedException e) {
                    break;
                }
                continue;
            }
            feed(readBuffer, n);
        }
    }

    private void feed(byte[] buf, int n) {
        for (int i = 0; i < n; i++) {
            byte b = buf[i];
            if (b == '\n') {
                onLine();
                lineLength = 0;
            } else {
                if (lineLength == line.length) {
                    line = Arrays.copyOf(line, line.length * 2);
                }
                line[lineLength++] = b;
            }
        }
    }

    private void onLine() {
        if (lineLength == 0 || line[0] == ' ') {
            return; // continuation line (" SUBSYSTEM=net") or blank
        }
        Optional<KmsgRecord> parsed = KmsgRecord.parse(new String(line, 0, lineLength, StandardCharsets.UTF_8));
        if (parsed.isEmpty()) {
            return;
        }
        KmsgRecord record = parsed.get();
        long previous = lastSequence;
        lastSequence = record.sequence();
        if (record.usec() < startUsec) {
            return; // history from before the watcher started
        }
        if (previous >= 0 && record.sequence() > previous + 1) {
            lostRecords += record.sequence() - previous - 1;
        }
        parser.accept(record);
        publish();
    }

    /**
     * Called (on the watcher thread) when a new "table full" line arrives: the kernel log is the
     * first to know, so the agent can poll at once instead of at its next interval.
     */
    public void onTableFull(Runnable listener) {
        this.tableFullListener = listener;
    }

    private void publish() {
        long before = snapshot == null ? 0 : snapshot.tableFullLines();
        long last = parser.lastTableFullUsec();
        snapshot = new KmsgSnapshot(parser.tableFullLines(), parser.suppressedAttributed(), parser.suppressedTotal(),
                lostRecords, brokenPipes,
                last < 0 ? Optional.empty() : Optional.of(bootTime.plusNanos(last * 1000)));
        Runnable listener = tableFullListener;
        if (listener != null && snapshot.tableFullLines() > before) {
            listener.run();
        }
    }

    private void markUnavailable(IOException e) {
        IoFailure failure = IoErrors.classify(e);
        String hint = failure.reason() == FailureReason.PermissionDenied ? " (reading needs CAP_SYSLOG)" : "";
        unavailable = "kmsg: /dev/kmsg unreadable: " + failure.errnoText() + hint;
        LOG.log(Level.WARNING, unavailable);
    }

    private void closeSource() {
        KmsgSource s = source;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing a read-only source: nothing to flush, nothing to report
            }
        }
    }

    static boolean isBrokenPipe(IOException e) {
        String message = e.getMessage();
        return message != null && message.toLowerCase(Locale.ROOT).contains("broken pipe");
    }
}
