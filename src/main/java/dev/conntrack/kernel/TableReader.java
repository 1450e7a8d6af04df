package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * Reads nf_conntrack_count, nf_conntrack_max and nf_conntrack_buckets: a few tiny files, cheap
 * enough for every poll (~0.5 ms for all of them measured on a 2-core node). Never lists the
 * table. Not thread-safe (one instance per polling thread).
 */
public final class TableReader {
    private final HostPaths paths;
    private final ProcReader reader = ProcReader.keepingValueFilesOpen();

    // Built once: a path per read (name check, resolve, a fresh hash for the open-file lookup) was
    // the larger part of a read before the JIT compiles the poll, i.e. for its first minutes.
    private final Path countPath;
    private final Path maxPath;
    private final Path bucketsPath;

    public TableReader(HostPaths paths) {
        this.paths = Objects.requireNonNull(paths, "paths");
        this.countPath = paths.conntrackCount();
        this.maxPath = paths.conntrackMax();
        this.bucketsPath = paths.conntrackBuckets();
    }

    public TableSnapshot read() {
        List<String> unavailable = new ArrayList<>(0);
        OptionalLong count = readLong(countPath, unavailable);
        OptionalLong max = readLong(maxPath, unavailable);
        OptionalLong buckets = readLong(bucketsPath, unavailable);
        return new TableSnapshot(count, max, buckets, unavailable);
    }

    private OptionalLong readLong(Path path, List<String> unavailable) {
        try {
            return OptionalLong.of(reader.readLong(path));
        } catch (IOException | ArithmeticException e) {
            String why = e instanceof IOException ? IoErrors.errnoText((IOException) e) : "number too large";
            unavailable.add("table: /" + paths.root().relativize(path) + " unreadable: " + why);
            return OptionalLong.empty();
        }
    }
}
