package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Parses /proc/net/stat/nf_conntrack: a header line naming the columns, then one line of hex
 * values per possible CPU.
 *
 * <p>Columns are matched by header name because the set and order differ across kernels (older
 * ones have searched/delete_list, newer ones clashres/chainlength). Every counter is summed over
 * the CPU lines except entries, which every line repeats.
 *
 * <p>Runs every poll on every node, so it is a hand-written tokenizer over a reused byte buffer:
 * no regex, no split, no String per value. The column mapping is rebuilt only when the header
 * bytes change (never, on a running kernel). Not thread-safe: one instance per polling thread.
 */
public final class ConntrackStatsParser {
    private final ProcReader reader = ProcReader.keepingFilesOpen(4096);
    private byte[] cachedHeader = new byte[0];
    private StatCounter[] columns = new StatCounter[0];
    private String[] columnNames = new String[0];

    /** Reads and parses the stats file at PATH, kept open for the next read (the node's own file, read every poll). */
    public ConntrackStats read(Path path) throws IOException {
        reader.load(path);
        return parse(reader.buffer(), reader.length());
    }

    /**
     * Reads and parses a stats file that is not kept open: another process's namespace, whose pid
     * may be gone or reused by the next read.
     */
    public ConntrackStats readOnce(Path path) throws IOException {
        reader.loadOnce(path);
        return parse(reader.buffer(), reader.length());
    }

    public ConntrackStats parse(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        return parse(bytes, bytes.length);
    }

    /** Column names of the last header parsed, as the kernel printed them. */
    public List<String> lastHeader() {
        return List.of(columnNames);
    }

    /**
     * @throws IllegalArgumentException when the content is not a header followed by CPU lines with
     *     one hex value per header column
     */
    public ConntrackStats parse(byte[] buf, int len) {
        int headerEnd = lineEnd(buf, 0, len);
        if (headerEnd == 0 || isBlank(buf, 0, headerEnd)) {
            throw new IllegalArgumentException("conntrack stats: missing header line");
        }
        if (!sameBytes(buf, 0, headerEnd, cachedHeader)) {
            parseHeader(buf, headerEnd);
        }
        ConntrackStats.Builder stats = ConntrackStats.builder(ConntrackStats.Source.PROCFS);
        int pos = headerEnd + 1;
        int lineNo = 1;
        while (pos < len) {
            int end = lineEnd(buf, pos, len);
            lineNo++;
            if (!isBlank(buf, pos, end)) {
                parseCpuLine(buf, pos, end, lineNo, stats);
                stats.endCpuLine();
            }
            pos = end + 1;
        }
        return stats.build();
    }

    private void parseCpuLine(byte[] buf, int pos, int end, int lineNo, ConntrackStats.Builder stats) {
        int column = 0;
        int i = pos;
        while (true) {
            while (i < end && ProcReader.isSpace(buf[i])) {
                i++;
            }
            if (i >= end) {
                break;
            }
            if (column >= columns.length) {
                throw new IllegalArgumentException("conntrack stats line " + lineNo + ": more values than the "
                        + columns.length + " header columns");
            }
            long value = 0;
            int digits = 0;
            while (i < end && !ProcReader.isSpace(buf[i])) {
                int d = hexDigit(buf[i]);
                if (d < 0 || ++digits > 16) {
                    throw new IllegalArgumentException("conntrack stats line " + lineNo + ", column "
                            + columnNames[column] + ": not a hex counter");
                }
                value = (value << 4) | d;
                i++;
            }
            StatCounter counter = columns[column];
            if (counter != null) {
                stats.add(counter, value);
            }
            column++;
        }
        if (column != columns.length) {
            throw new IllegalArgumentException("conntrack stats line " + lineNo + ": " + column
                    + " values for " + columns.length + " header columns");
        }
    }

    private void parseHeader(byte[] buf, int headerEnd) {
        List<String> names = new ArrayList<>();
        int i = 0;
        while (i < headerEnd) {
            while (i < headerEnd && ProcReader.isSpace(buf[i])) {
                i++;
            }
            int start = i;
            while (i < headerEnd && !ProcReader.isSpace(buf[i])) {
                i++;
            }
            if (i > start) {
                names.add(new String(buf, start, i - start, StandardCharsets.US_ASCII));
            }
        }
        StatCounter[] mapped = new StatCounter[names.size()];
        for (int c = 0; c < mapped.length; c++) {
            mapped[c] = StatCounter.byName(names.get(c));
        }
        columns = mapped;
        columnNames = names.toArray(new String[0]);
        cachedHeader = Arrays.copyOf(buf, headerEnd);
    }

    private static int lineEnd(byte[] buf, int from, int len) {
        int i = from;
        while (i < len && buf[i] != '\n') {
            i++;
        }
        return i;
    }

    private static boolean isBlank(byte[] buf, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!ProcReader.isSpace(buf[i])) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameBytes(byte[] buf, int from, int to, byte[] other) {
        return Arrays.equals(buf, from, to, other, 0, other.length);
    }

    private static int hexDigit(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }
}
