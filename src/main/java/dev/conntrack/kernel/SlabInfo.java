package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * The real size of one conntrack entry, from /proc/slabinfo. The file is root-only (0400) and the
 * nf_conntrack cache may be merged into another one by SLUB (then it has no line of its own), so
 * an empty result is normal: callers use {@link TableMemory#DEFAULT_OBJECT_SIZE}.
 */
public final class SlabInfo {
    private static final String CACHE = "nf_conntrack";
    /** Column of objsize in "name active_objs num_objs objsize ..." (slabinfo 2.x), when no header says otherwise. */
    private static final int DEFAULT_OBJSIZE_COLUMN = 3;

    private SlabInfo() {
    }

    public static OptionalInt conntrackObjectSize(HostPaths paths) {
        return conntrackObjectSize(paths.slabinfo());
    }

    static OptionalInt conntrackObjectSize(Path slabinfo) {
        ProcReader reader = new ProcReader(64 * 1024);
        try {
            reader.load(slabinfo);
        } catch (IOException e) {
            return OptionalInt.empty();
        }
        return parse(new String(reader.buffer(), 0, reader.length(), StandardCharsets.US_ASCII));
    }

    /** Object size of the nf_conntrack cache (not nf_conntrack_expect) in slabinfo TEXT. */
    public static OptionalInt parse(String text) {
        int objsizeColumn = DEFAULT_OBJSIZE_COLUMN;
        for (String line : text.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length == 0) {
                continue;
            }
            if (fields[0].equals("#")) {
                // "# name <active_objs> <num_objs> <objsize> ...": find objsize by name.
                for (int i = 1; i < fields.length; i++) {
                    if (fields[i].equals("<objsize>")) {
                        objsizeColumn = i - 1;
                    }
                }
                continue;
            }
            if (fields[0].equals(CACHE) && fields.length > objsizeColumn) {
                try {
                    int size = Integer.parseInt(fields[objsizeColumn]);
                    return size > 0 ? OptionalInt.of(size) : OptionalInt.empty();
                } catch (NumberFormatException e) {
                    return OptionalInt.empty();
                }
            }
        }
        return OptionalInt.empty();
    }
}
