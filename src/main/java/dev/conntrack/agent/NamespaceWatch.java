package dev.conntrack.agent;

import dev.conntrack.agent.core.NodeSample;
import dev.conntrack.api.NamespaceSummary;
import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.ConntrackStatsReader;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.NamespaceUsage;
import dev.conntrack.kernel.NetnsScan;
import dev.conntrack.kernel.NetnsScanner;
import dev.conntrack.kernel.PodNames;
import dev.conntrack.kernel.TableSnapshot;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The node's other network namespaces (pods, NAT namespaces): each has its own table under the
 * one global max, so the node's own counters miss their drops. A full scan (about a millisecond
 * per 50 namespaces) runs every few seconds, or at once when the fast watcher sees conntrack
 * objects pile up somewhere it does not look; in between, only the hottest namespace's counters
 * are read on each poll. Called from the agent's poll thread only.
 */
final class NamespaceWatch {
    static final Duration SCAN_EVERY = Duration.ofSeconds(5);
    static final Duration RESCAN_AT_MOST_EVERY = Duration.ofMillis(250);
    static final int LISTED = 5;

    private final NetnsScanner scanner;
    private final ConntrackStatsReader stats;
    private final HostPaths paths;
    private final PodNames podNames;
    private NetnsScan last;
    private long lastScanAt;
    private boolean scanned;
    private NamespaceUsage hot;
    private long hotPreviousDrops = -1;
    private long hotDrops = -1;
    private long hotEntries = -1;
    private long otherDropsDelta;
    private NamespaceUsage dropping;

    NamespaceWatch(HostPaths paths, ConntrackStatsReader stats) {
        this(new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT), stats, paths, new PodNames(paths));
    }

    NamespaceWatch(NetnsScanner scanner, ConntrackStatsReader stats, HostPaths paths, PodNames podNames) {
        this.scanner = scanner;
        this.stats = stats;
        this.paths = paths;
        this.podNames = podNames;
    }

    /**
     * One poll: a full scan when due (or when RESCAN is asked for, because conntrack objects pile up
     * somewhere nobody watches, at most every RESCAN_AT_MOST_EVERY), then the hottest namespace's
     * drops. True when the hottest changed.
     */
    boolean poll(long nowNanos, boolean rescan) {
        boolean changed = false;
        long others = 0;
        long sinceScan = nowNanos - lastScanAt;
        if (!scanned || sinceScan >= SCAN_EVERY.toNanos() || (rescan && sinceScan >= RESCAN_AT_MOST_EVERY.toNanos())) {
            // The hottest namespace before the scan: its drops are counted by the reads below. One
            // that becomes the hottest in this scan (because it dropped) is counted here, else
            // the drops that made it the hottest would be attributed to nobody.
            NamespaceUsage watched = hot;
            changed = scan(nowNanos);
            for (NamespaceUsage n : last.namespaces()) {
                if (!n.isInitial() && (watched == null || n.inode() != watched.inode())) {
                    others += n.dropsDelta().orElse(0);
                }
            }
        }
        long hotDelta = 0;
        hotEntries = -1;
        if (hot != null) {
            Optional<ConntrackStats> read = stats.read(hot.pid()).stats();
            read.flatMap(s -> s.entries().isPresent() ? Optional.of(s.entries().getAsLong()) : Optional.empty())
                    .ifPresent(e -> hotEntries = e);
            OptionalLong drops = read.map(ConntrackStats::drop).orElse(OptionalLong.empty());
            if (drops.isPresent()) {
                long d = drops.getAsLong();
                if (hotPreviousDrops >= 0 && d > hotPreviousDrops) {
                    hotDelta = d - hotPreviousDrops;
                }
                hotPreviousDrops = d;
                hotDrops = d;
            }
        }
        otherDropsDelta = hotDelta + others;
        dropping = hotDelta > 0 ? hot
                : others > 0 ? last.topByDrops().stream().filter(n -> !n.isInitial()).findFirst().orElse(null)
                : null;
        return changed;
    }

    /** The node's table snapshot, with the count of the busiest other table when that one is larger. */
    TableSnapshot busiest(TableSnapshot initial) {
        if (hotEntries < 0 || (initial.count().isPresent() && initial.count().getAsLong() >= hotEntries)) {
            return initial;
        }
        return new TableSnapshot(OptionalLong.of(hotEntries), initial.max(), initial.buckets(), initial.unavailable());
    }

    private boolean scan(long nowNanos) {
        last = scanner.scan();
        lastScanAt = nowNanos;
        scanned = true;
        // The other namespace that dropped most, else the one with the largest table (a loop, not
        // a stream: see NetnsScanner).
        NamespaceUsage next = null;
        for (NamespaceUsage n : last.namespaces()) {
            long drops = n.dropsDelta().orElse(0);
            long entries = n.entries().orElse(0);
            if (n.isInitial() || (drops <= 0 && entries <= 0)) {
                continue;
            }
            if (next == null || drops > next.dropsDelta().orElse(0)
                    || (drops == next.dropsDelta().orElse(0) && entries > next.entries().orElse(0))) {
                next = n;
            }
        }
        boolean changed = next == null ? hot != null : hot == null || hot.inode() != next.inode();
        if (changed) {
            hot = next;
            hotPreviousDrops = next == null ? -1 : next.dropsTotal().orElse(-1);
            hotDrops = hotPreviousDrops;
        }
        return changed;
    }

    /** Whose table a listing should explain: pid null means the node's own. */
    record Target(Long pid, String name) {
    }

    /** The namespace that drops, else the busiest other one, else the node's own table. */
    Target explainTarget() {
        NamespaceUsage n = dropping != null ? dropping : hot;
        return n == null || n.isInitial() ? new Target(null, "initial") : new Target(n.pid(), "net:[" + n.inode() + "]");
    }

    /** The stats file of the namespace to watch between polls, or null. */
    Path hotStatsFile() {
        return hot == null ? null : paths.conntrackStats(hot.pid());
    }

    /** What the poll cycle needs of the namespaces, with the node's own drops for the total. */
    NodeSample.Namespaces view(Long initialDrops) {
        return new NodeSample.Namespaces(otherDropsDelta, droppingText(), dropsAllNamespaces(initialDrops).orElse(null), summaries());
    }

    /** Drops of every namespace together, with the freshest figures for the node's own and the hottest. */
    Optional<Long> dropsAllNamespaces(Long initialDrops) {
        if (last == null) {
            return Optional.ofNullable(initialDrops);
        }
        long sum = 0;
        for (NamespaceUsage n : last.namespaces()) {
            if (n.isInitial() && initialDrops != null) {
                sum += initialDrops;
            } else if (hot != null && n.inode() == hot.inode() && hotDrops >= 0) {
                sum += hotDrops;
            } else {
                sum += n.dropsTotal().orElse(0);
            }
        }
        return Optional.of(sum);
    }

    /** The largest tables and the namespaces that dropped, at most LISTED, from the last scan. */
    List<NamespaceSummary> summaries() {
        if (last == null) {
            return null;
        }
        Map<Long, NamespaceUsage> listed = new LinkedHashMap<>();
        for (NamespaceUsage n : last.topByDrops()) {
            listed.putIfAbsent(n.inode(), n);
        }
        for (NamespaceUsage n : last.topByEntries()) {
            if (n.entries().orElse(0) > 0) {
                listed.putIfAbsent(n.inode(), n);
            }
        }
        List<NamespaceSummary> out = new ArrayList<>();
        for (NamespaceUsage n : listed.values()) {
            if (out.size() == LISTED) {
                break;
            }
            NamespaceSummary s = new NamespaceSummary();
            s.setInode(n.inode());
            s.setPid(n.pid());
            s.setInitial(n.isInitial() ? Boolean.TRUE : null);
            s.setPodUid(n.podUid().orElse(null));
            s.setPod(n.podUid().flatMap(podNames::nameOf).orElse(null));
            n.entries().ifPresent(s::setEntries);
            s.setDrops(hot != null && n.inode() == hot.inode() && hotDrops >= 0 ? Long.valueOf(hotDrops)
                    : n.dropsTotal().isPresent() ? Long.valueOf(n.dropsTotal().getAsLong()) : null);
            out.add(s);
        }
        return out.isEmpty() ? null : out;
    }

    /**
     * " in network namespace net:[INODE] (pid P, pod NAMESPACE/NAME uid U)", the name left out when
     * unknown, or "" when the node's own table drops.
     */
    String droppingText() {
        if (dropping == null) {
            return "";
        }
        return " in network namespace net:[" + dropping.inode() + "] (pid " + dropping.pid()
                + dropping.podUid().map(uid -> podNames.nameOf(uid).map(name -> ", pod " + name + " uid " + uid)
                        .orElse(", pod " + uid)).orElse("") + ")";
    }
}
