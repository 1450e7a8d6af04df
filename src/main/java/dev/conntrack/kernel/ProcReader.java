package dev.conntrack.kernel;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads small procfs/sysfs files into a reused buffer.
 *
 * <p>Why not Files.readAllBytes/readString: /proc/sys files report size 0, so those methods read a
 * single byte first and the kernel answers EOF to the next read (offset != 0): "262144" comes back
 * as "2". This reader always starts with one large read at offset 0 and then reads to EOF, which
 * is what works for /proc/sys, /sys and seq_file-backed files alike.
 *
 * <p>A /proc/sys value must fit in the FIRST read (the kernel answers EOF at a non-zero offset), so
 * the initial capacity must exceed any sysctl value this reads (they are a few digits; 64 bytes is
 * plenty). seq_file files such as the stats file may span several reads and grow the buffer.
 *
 * <p>{@link #keepingFilesOpen} makes a reader for the files a poll reads every second: it opens
 * each once and then reads it with positional reads at offset 0 (pread), which the kernel answers
 * with fresh content each time, without the path walk, open and close of a new read (most of a
 * poll's time on a busy node). A kept file can go away under it: when the nf_conntrack module is
 * unloaded, reads of an open /proc/sys file fail with ENOENT, of the stats file with EIO, of a
 * /sys parameter with ENODEV; the reader then closes it and opens the path again (which fails with
 * NotFound while the module is out, and finds the new file once it is back). On a file system
 * other than procfs and sysfs (a test's fake tree) a replaced file would keep answering with the
 * old content, so there each read first checks that the path still names the open file.
 *
 * <p>Not thread-safe: one instance per polling thread, so a poll allocates no buffers.
 */
public final class ProcReader implements AutoCloseable {
    /** More distinct paths than a poll reads: beyond it the reader forgets them all (a bound, not a cache policy). */
    static final int MAX_OPEN = 32;

    private byte[] buffer;
    private ByteBuffer wrapped;
    private int length;
    private final boolean keepOpen;
    /** Files that hold one value: complete after a first read that did not fill the buffer. */
    private final boolean valueFiles;
    private final Map<Path, KeptFile> open = new HashMap<>();

    /** An open file; {@code key} is its identity on a file system whose files can be replaced, null on procfs/sysfs. */
    private record KeptFile(FileChannel channel, Object key) {
    }

    public ProcReader() {
        this(4096);
    }

    public ProcReader(int initialCapacity) {
        this(initialCapacity, false, false);
    }

    private ProcReader(int initialCapacity, boolean keepOpen, boolean valueFiles) {
        this.buffer = new byte[Math.max(64, initialCapacity)];
        this.wrapped = ByteBuffer.wrap(buffer);
        this.keepOpen = keepOpen;
        this.valueFiles = valueFiles;
    }

    /**
     * Files kept open by all readers of the process together. An agent keeps about ten; past the
     * budget a reader reads per call (open, read, close), so that kept files can never use up the
     * process's descriptors, whatever else it opens (sockets, many namespaces' files).
     */
    static final int PROCESS_BUDGET = 256;
    private static final java.util.concurrent.atomic.AtomicInteger KEPT = new java.util.concurrent.atomic.AtomicInteger();

    /** A reader that keeps the files it reads open and re-reads them at offset 0 (see the class comment). */
    public static ProcReader keepingFilesOpen(int initialCapacity) {
        return new ProcReader(initialCapacity, true, false);
    }

    /**
     * A reader like {@link #keepingFilesOpen} for files that hold one short value (/proc/sys
     * settings, nf_conntrack_count, /sys module parameters): the kernel hands such a file over
     * whole in the first read at offset 0 and answers the next one with EOF, so a first read that
     * did not fill the buffer is the whole file and the second read is skipped. That halves the
     * system calls of the reads a poll makes most.
     */
    public static ProcReader keepingValueFilesOpen() {
        return new ProcReader(256, true, true);
    }

    /** Whether this reader keeps the files it reads open (false for a plain reader, or past the process's budget). */
    public boolean keepsFilesOpen() {
        return keepOpen && (!open.isEmpty() || KEPT.get() < PROCESS_BUDGET);
    }

    /**
     * Reads the whole file; the content stays valid in {@link #buffer()} up to {@link #length()}
     * until the next call.
     */
    public void load(Path path) throws IOException {
        if (!keepOpen) {
            loadOnce(path);
            return;
        }
        KeptFile kept = open.get(path);
        if (kept != null) {
            try {
                if (kept.key() == null || kept.key().equals(fileKey(path))) {
                    readAt0(kept.channel());
                    return;
                }
            } catch (IOException e) {
                // Gone or replaced (module unloaded): open the path again below, once.
            }
            forget(path, kept);
        }
        if (open.size() >= MAX_OPEN) {
            close();
        }
        if (KEPT.incrementAndGet() > PROCESS_BUDGET) {
            KEPT.decrementAndGet();
            loadOnce(path);
            return;
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException | RuntimeException e) {
            KEPT.decrementAndGet();
            throw e;
        }
        try {
            KeptFile fresh = new KeptFile(channel, isKernelFileSystem(path) ? null : fileKey(path));
            readAt0(channel);
            open.put(path, fresh);
        } catch (IOException | RuntimeException e) {
            channel.close();
            KEPT.decrementAndGet();
            throw e;
        }
    }

    /** Reads the file with open, read, close, also in a reader that keeps files open (paths read once, e.g. another process's). */
    public void loadOnce(Path path) throws IOException {
        try (InputStream in = new FileInputStream(path.toFile())) {
            length = 0;
            while (true) {
                if (length == buffer.length) {
                    buffer = Arrays.copyOf(buffer, buffer.length * 2);
                }
                int n = in.read(buffer, length, buffer.length - length);
                if (n < 0) {
                    return;
                }
                length += n;
            }
        }
    }

    private void readAt0(FileChannel channel) throws IOException {
        length = 0;
        while (true) {
            if (length == buffer.length) {
                buffer = Arrays.copyOf(buffer, buffer.length * 2);
            }
            if (wrapped.array() != buffer) {
                wrapped = ByteBuffer.wrap(buffer);
            }
            wrapped.limit(buffer.length).position(length);
            int n = channel.read(wrapped, length);
            if (n < 0) {
                return;
            }
            length += n;
            if (n == 0 || (valueFiles && length < buffer.length)) {
                return;
            }
        }
    }

    private static Object fileKey(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    }

    /** procfs and sysfs files are never replaced in place: a removed one fails its reads instead. */
    private static boolean isKernelFileSystem(Path path) {
        try {
            String type = Files.getFileStore(path).type();
            return type.equals("proc") || type.equals("sysfs");
        } catch (IOException e) {
            // Unknown: check the path on each read, which is always correct.
            return false;
        }
    }

    private void forget(Path path, KeptFile kept) {
        open.remove(path);
        KEPT.decrementAndGet();
        try {
            kept.channel().close();
        } catch (IOException e) {
            // Already broken: nothing more to release.
        }
    }

    /** Closes every kept file; the reader opens them again when next asked. */
    @Override
    public void close() {
        for (Map.Entry<Path, KeptFile> e : Map.copyOf(open).entrySet()) {
            forget(e.getKey(), e.getValue());
        }
    }

    public byte[] buffer() {
        return buffer;
    }

    public int length() {
        return length;
    }

    /** The file content, trimmed (sysctl values end with a newline). */
    public String readTrimmed(Path path) throws IOException {
        load(path);
        int start = 0;
        int end = length;
        while (start < end && isSpace(buffer[start])) {
            start++;
        }
        while (end > start && isSpace(buffer[end - 1])) {
            end--;
        }
        return new String(buffer, start, end - start, StandardCharsets.US_ASCII);
    }

    /** A file holding one decimal number (nf_conntrack_count and friends), without building a String. */
    public long readLong(Path path) throws IOException {
        load(path);
        int i = 0;
        while (i < length && isSpace(buffer[i])) {
            i++;
        }
        int start = i;
        long value = 0;
        while (i < length && buffer[i] >= '0' && buffer[i] <= '9') {
            value = Math.addExact(Math.multiplyExact(value, 10), buffer[i] - '0');
            i++;
        }
        if (i == start) {
            throw new IOException("not a number in " + path + ": \"" + new String(buffer, 0, Math.min(length, 40), StandardCharsets.US_ASCII).trim() + "\"");
        }
        return value;
    }

    static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\t' || b == '\r';
    }
}
