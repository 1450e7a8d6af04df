package dev.conntrack.kernel;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One network namespace of the node at one scan: its own conntrack table size and drops (every
 * namespace has its own table and counters; the global nf_conntrack_max applies to each).
 *
 * @param inode       the namespace's nsfs inode, as in "net:[INODE]": stable for its lifetime
 * @param pid         the process it was read through (one representative per namespace)
 * @param isInitial   the host's (initial) namespace
 * @param entries     table size (the stats file's entries column); empty when unreadable
 * @param dropsDelta  drops since the previous scan; empty on the first sighting when they cannot
 *                    be told apart from older drops, or when the counter went down
 * @param dropsTotal  drops since the namespace was created (boot, for the initial one)
 * @param podUid      pod UID from the representative's cgroup, when it is in a pod
 * @param containerId container ID from the same cgroup path, when the runtime names it
 */
public record NamespaceUsage(long inode, long pid, boolean isInitial, OptionalLong entries, OptionalLong dropsDelta,
                             OptionalLong dropsTotal, Optional<String> podUid, Optional<String> containerId) {
    public NamespaceUsage {
        Objects.requireNonNull(entries, "entries");
        Objects.requireNonNull(dropsDelta, "dropsDelta");
        Objects.requireNonNull(dropsTotal, "dropsTotal");
        podUid = podUid == null ? Optional.empty() : podUid;
        containerId = containerId == null ? Optional.empty() : containerId;
    }
}
