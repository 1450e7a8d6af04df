package dev.conntrack.agent;

import dev.conntrack.agent.core.NodeSample;
import dev.conntrack.agent.core.PollSample;
import dev.conntrack.kernel.CommandRunner;
import dev.conntrack.kernel.ConntrackStatsReader;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.KmsgSnapshot;
import dev.conntrack.kernel.KmsgWatcher;
import dev.conntrack.kernel.SlabInfo;
import dev.conntrack.kernel.StatsReading;
import dev.conntrack.kernel.TableReader;
import dev.conntrack.kernel.TableSnapshot;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Reads what one poll needs from the node and nothing else: the table, the counters, the kernel
 * log's counts (kept by the kmsg watcher) and the other network namespaces. Reads only: the
 * enforcer is the one that writes. Called from the poll thread only.
 */
final class NodeSampler {
    private final TableReader tables;
    private final ConntrackStatsReader stats;
    private final KmsgWatcher kmsg;
    private final NamespaceWatch namespaces;
    private final HostPaths paths;
    /** Read from /proc/slabinfo until found: nf_conntrack may be loaded after the agent started. */
    private OptionalInt objectSize = OptionalInt.empty();
    private long objectSizeTriedAt;
    static final long OBJECT_SIZE_RETRY_NANOS = 10_000_000_000L;

    NodeSampler(HostPaths paths, KmsgWatcher kmsg) {
        this.tables = new TableReader(paths);
        this.stats = new ConntrackStatsReader(paths, CommandRunner.processes());
        this.kmsg = kmsg;
        this.namespaces = new NamespaceWatch(paths, stats);
        this.paths = paths;
    }

    /** The conntrack object size, looked for again at most every 10 s while unknown (a slabinfo read is not free). */
    private OptionalInt objectSize(long now) {
        if (objectSize.isEmpty() && (objectSizeTriedAt == 0 || now - objectSizeTriedAt >= OBJECT_SIZE_RETRY_NANOS)) {
            objectSize = SlabInfo.conntrackObjectSize(paths);
            objectSizeTriedAt = now;
        }
        return objectSize;
    }

    /**
     * One reading. RESCAN asks for a scan of the namespaces now (rate limited); GROWTH is the
     * count watcher's newest measure of the table's growth.
     */
    NodeSample read(boolean rescan, double growthPerSecond) {
        TableSnapshot initial = tables.read();
        namespaces.poll(System.nanoTime(), rescan);
        // Usage is the busiest table's: a pod's or a NAT namespace's fills under the same global max.
        TableSnapshot table = namespaces.busiest(initial);
        StatsReading reading = stats.read();
        KmsgSnapshot log = kmsg.snapshot();
        Long initialDrops = reading.stats().flatMap(s -> s.drop().isPresent() ? java.util.Optional.of(s.drop().getAsLong())
                : java.util.Optional.empty()).orElse(null);
        return new NodeSample(new PollSample(System.nanoTime(), reading.stats(), table,
                OptionalLong.of(log.tableFullIncludingSuppressed())), reading, log, kmsg.unavailable(),
                namespaces.view(initialDrops), growthPerSecond, objectSize(System.nanoTime()));
    }

    /**
     * The sample with the table read again: enforcement wrote (or may have written, a failed
     * verify) max or buckets. Otherwise the read of a moment ago is as fresh.
     */
    NodeSample reread(NodeSample sample) {
        return sample.withTable(namespaces.busiest(tables.read()));
    }

    /** Which table a listing should explain: the namespace that drops, else the busiest, else the node's own. */
    NamespaceWatch.Target explainTarget() {
        return namespaces.explainTarget();
    }

    /** The stats file of the namespace the count watcher should follow, or null. */
    Path hotStatsFile() {
        return namespaces.hotStatsFile();
    }
}
