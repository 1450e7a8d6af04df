package dev.conntrack.kernel;

import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;

/**
 * One pass of {@link NetnsScanner} over the node's network namespaces.
 *
 * @param namespaces           every namespace found: the initial one first, then by entries, largest first
 * @param topByEntries         the K largest tables
 * @param topByDrops           the K namespaces that dropped most since the previous scan (positive drops only)
 * @param initialInode         inode of the initial namespace, empty when neither /proc/1 nor /proc/self told
 * @param pidsScanned          processes looked at (one readlink each)
 * @param kernelThreadsSkipped kernel threads not looked at (children of kthreadd: always in the initial namespace)
 * @param pidCapReached        the pass stopped at its pid cap: namespaces may be missing; the next pass
 *                             carries on where this one stopped
 * @param elapsed              time the pass took
 * @param unavailable          namespaces whose counters could not be read, one line each (capped)
 */
public record NetnsScan(List<NamespaceUsage> namespaces, List<NamespaceUsage> topByEntries, List<NamespaceUsage> topByDrops,
                        OptionalLong initialInode, int pidsScanned, int kernelThreadsSkipped, boolean pidCapReached,
                        Duration elapsed, List<String> unavailable) {
    public NetnsScan {
        namespaces = List.copyOf(namespaces);
        topByEntries = List.copyOf(topByEntries);
        topByDrops = List.copyOf(topByDrops);
        unavailable = List.copyOf(unavailable);
    }

    /** The namespace with INODE, if this pass found it. */
    public java.util.Optional<NamespaceUsage> byInode(long inode) {
        return namespaces.stream().filter(n -> n.inode() == inode).findFirst();
    }
}
