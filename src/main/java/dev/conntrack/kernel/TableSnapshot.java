package dev.conntrack.kernel;

import java.util.List;
import java.util.OptionalLong;

/** The table's size figures at one poll; a file that could not be read is empty and named in unavailable. */
public record TableSnapshot(OptionalLong count, OptionalLong max, OptionalLong buckets, List<String> unavailable) {
    public TableSnapshot {
        unavailable = List.copyOf(unavailable);
    }
}
