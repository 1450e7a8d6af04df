package dev.conntrack.kernel;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

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
 * <p>Not thread-safe: one instance per polling thread, so a poll allocates no buffers.
 */
public final class ProcReader {
    private byte[] buffer;
    private int length;

    public ProcReader() {
        this(4096);
    }

    public ProcReader(int initialCapacity) {
        this.buffer = new byte[Math.max(64, initialCapacity)];
    }

    /**
     * Reads the whole file; the content stays valid in {@link #buffer()} up to {@link #length()}
     * until the next call.
     */
    public void load(Path path) throws IOException {
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
