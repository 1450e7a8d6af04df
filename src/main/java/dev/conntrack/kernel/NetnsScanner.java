package dev.conntrack.kernel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Finds every network namespace on the node through /proc and reads each one's conntrack table
 * size and drops, so that a pod whose own table is full is seen (an agent that reads only the
 * initial namespace misses those drops: every namespace has its own table under the same global
 * max).
 *
 * <p>Per pass: one readlink of /proc/PID/ns/net per process ("net:[INODE]"), one representative
 * pid per inode, then one read of /proc/PID/net/stat/nf_conntrack per namespace (its entries
 * column and drop counter, without entering the namespace). Kernel threads are skipped without a
 * syscall each: they are kthreadd's children (/proc/2/task/2/children, one read per pass) and all
 * live in the initial namespace. The previous pass's representatives are checked first (with at
 * most half the pid budget), so known namespaces keep their drop history even when a pass stops at
 * its pid cap; the next pass then starts after the last pid looked at, so every process is reached
 * over successive passes. The cap is a safety bound (default 32768 processes, far above a normal
 * node): a capped pass may miss namespaces, and one not read in a pass has no drop delta when it is
 * read again.
 *
 * <p>Incremental: a process whose namespace read the same in two passes in a row is "settled" and
 * is not read again while it stays in the /proc listing, except on every {@value #FULL_PASS_EVERY}th
 * pass, which reads all. A process changes its network namespace only right after it starts
 * (runc's init and `ip netns exec` unshare or setns before they exec), so the second read
 * confirms where it stays; the full pass bounds how long one that moves later is misplaced. A pid
 * missing from one listing is forgotten, so a reused pid is read afresh. On a node with hundreds of
 * processes this turns a pass from one readlink per process into one per new process.
 *
 * <p>Initial namespace: the inode of /proc/1/ns/net, or, when pid 1 cannot be inspected (some
 * sandboxes deny it), the agent's own namespace (/proc/self/ns/net: a hostNetwork pod's).
 *
 * <p>A namespace without any process (kept alive by a bind mount only, such as `ip netns add` with
 * nothing started in it) cannot be found this way; pods always have their sandbox process.
 * Not thread-safe: one instance, one polling thread.
 */
public final class NetnsScanner {
    /**
     * @param maxPidsPerPass processes looked at per pass at most (each costs one readlink, a few µs)
     * @param topK           length of the top lists
     */
    public record Limits(int maxPidsPerPass, int topK) {
        public static final Limits DEFAULT = new Limits(32_768, 10);

        public Limits {
            if (maxPidsPerPass < 1) {
                throw new IllegalArgumentException("maxPidsPerPass must be positive: " + maxPidsPerPass);
            }
            if (topK < 1) {
                throw new IllegalArgumentException("topK must be positive: " + topK);
            }
        }
    }

    /** Every this many passes, settled processes are read again too. */
    static final int FULL_PASS_EVERY = 12;
    private static final int MAX_UNAVAILABLE_LINES = 10;
    /** Largest table first, then by inode. */
    private static final Comparator<NamespaceUsage> BY_ENTRIES = (a, b) -> {
        int c = Long.compare(b.entries().orElse(-1), a.entries().orElse(-1));
        return c != 0 ? c : Long.compare(a.inode(), b.inode());
    };
    private static final Comparator<NamespaceUsage> INITIAL_FIRST_THEN_BY_ENTRIES = (a, b) ->
            a.isInitial() != b.isInitial() ? (a.isInitial() ? -1 : 1) : BY_ENTRIES.compare(a, b);
    /** Most drops in the last interval first, then by inode. */
    private static final Comparator<NamespaceUsage> BY_DROPS = (a, b) -> {
        int c = Long.compare(b.dropsDelta().orElse(0), a.dropsDelta().orElse(0));
        return c != 0 ? c : Long.compare(a.inode(), b.inode());
    };

    private final HostPaths paths;
    private final ConntrackStatsReader stats;
    private final PodResolver pods;
    private final Limits limits;
    private final LongSupplier nanoTime;
    private final ProcReader reader = new ProcReader(4096);

    /** inode -> pid of the last pass. */
    private Map<Long, Long> representatives = new LinkedHashMap<>();
    /** inode -> drop counter of the last pass. */
    private Map<Long, Long> previousDrops = new HashMap<>();
    /** inode -> the pod of its representative, resolved once per (inode, pid). */
    private Map<Long, ResolvedPod> podCache = new HashMap<>();
    private boolean previousPassComplete;
    private long resumeAfterPid;
    /** pid -> the namespace inode last read for it, negated while not yet settled (read once). */
    private Map<Long, Long> knownPids = new HashMap<>();
    private int passes;
    private Set<Long> kernelThreads;
    private OptionalLong initialInode = OptionalLong.empty();

    private record ResolvedPod(long pid, Optional<PodResolver.PodRef> pod) {
    }

    public NetnsScanner(HostPaths paths, Limits limits) {
        this(paths, limits, System::nanoTime);
    }

    public NetnsScanner(HostPaths paths, Limits limits, LongSupplier nanoTime) {
        this.paths = Objects.requireNonNull(paths, "paths");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        // read(pid) never falls back to a command: per-namespace counters come from procfs only.
        this.stats = new ConntrackStatsReader(paths, CommandRunner.processes());
        this.pods = new PodResolver(paths);
    }

    public NetnsScan scan() {
        long start = nanoTime.getAsLong();
        OptionalLong initial = initialNamespace();
        boolean fullPass = passes++ % FULL_PASS_EVERY == 0;
        if (fullPass || kernelThreads == null) {
            // Only full passes look at settled processes, kernel threads among them; new kernel
            // threads in between are looked at once or twice like any new process, then settle.
            kernelThreads = ProcPids.kernelThreads(paths, reader);
        }
        Map<Long, Long> found = new LinkedHashMap<>();
        Set<Long> foundPids = new HashSet<>();
        int scanned = 0;
        int cap = limits.maxPidsPerPass();

        // Known namespaces first, but with at most half the budget: the rest must find new ones.
        int revalidationBudget = Math.max(1, cap / 2);
        for (Map.Entry<Long, Long> rep : representatives.entrySet()) {
            if (scanned >= revalidationBudget) {
                break;
            }
            scanned++;
            OptionalLong inode = ProcPids.readInode(paths.netNamespace(rep.getValue()));
            if (inode.isPresent() && inode.getAsLong() == rep.getKey()) {
                found.put(rep.getKey(), rep.getValue());
                foundPids.add(rep.getValue());
            }
        }

        long[] pids = ProcPids.list(paths);
        Map<Long, Long> knownNow = new HashMap<>(Math.max(16, pids.length * 2));
        int first = 0;
        if (resumeAfterPid > 0) {
            int at = Arrays.binarySearch(pids, resumeAfterPid);
            first = at >= 0 ? at + 1 : -at - 1;
        }
        int skippedThreads = 0;
        boolean capped = false;
        long lastLooked = 0;
        for (int k = 0; k < pids.length; k++) {
            long pid = pids[(first + k) % pids.length];
            if (kernelThreads.contains(pid)) {
                skippedThreads++;
                continue;
            }
            if (foundPids.contains(pid)) {
                continue;
            }
            Long known = knownPids.get(pid);
            if (!fullPass && known != null && known > 0) {
                // Settled: where it was in the last two reads, still listed, so not a reused pid.
                knownNow.put(pid, known);
                found.putIfAbsent(known, pid);
                continue;
            }
            if (scanned >= cap) {
                capped = true;
                break;
            }
            scanned++;
            lastLooked = pid;
            OptionalLong inode = ProcPids.readInode(paths.netNamespace(pid));
            if (inode.isPresent()) {
                long value = inode.getAsLong();
                found.putIfAbsent(value, pid);
                boolean settled = known != null && (known == value || known == -value);
                knownNow.put(pid, settled ? value : -value);
            }
        }
        if (capped) {
            // Pids after the cap were not looked at in this pass: keep what was known of them.
            for (Map.Entry<Long, Long> e : knownPids.entrySet()) {
                if (Arrays.binarySearch(pids, e.getKey()) >= 0) {
                    knownNow.putIfAbsent(e.getKey(), e.getValue());
                }
            }
        }
        knownPids = knownNow;

        List<NamespaceUsage> namespaces = new ArrayList<>(found.size());
        List<String> unavailable = new ArrayList<>();
        int unreadable = 0;
        Map<Long, Long> drops = new HashMap<>();
        Map<Long, ResolvedPod> podsNow = new HashMap<>();
        for (Map.Entry<Long, Long> e : found.entrySet()) {
            long inode = e.getKey();
            long pid = e.getValue();
            boolean isInitial = initial.isPresent() && initial.getAsLong() == inode;
            StatsReading reading = stats.read(pid);
            OptionalLong entries = OptionalLong.empty();
            OptionalLong dropTotal = OptionalLong.empty();
            if (reading.stats().isPresent()) {
                entries = reading.stats().get().entries();
                dropTotal = reading.stats().get().drop();
            } else if (++unreadable <= MAX_UNAVAILABLE_LINES) {
                unavailable.addAll(reading.unavailable());
            }
            OptionalLong delta = OptionalLong.empty();
            if (dropTotal.isPresent()) {
                long now = dropTotal.getAsLong();
                drops.put(inode, now);
                Long before = previousDrops.get(inode);
                if (before != null) {
                    delta = now >= before ? OptionalLong.of(now - before) : OptionalLong.empty();
                } else if (previousPassComplete && !representatives.containsKey(inode)) {
                    // Not there at the last complete pass: created since, and its counters
                    // started at zero then, so every drop it has happened in this interval.
                    delta = OptionalLong.of(now);
                }
            }
            Optional<PodResolver.PodRef> pod = Optional.empty();
            if (!isInitial) {
                ResolvedPod cached = podCache.get(inode);
                if (cached == null || cached.pid() != pid) {
                    cached = new ResolvedPod(pid, pods.resolve(pid));
                }
                podsNow.put(inode, cached);
                pod = cached.pod();
            }
            namespaces.add(new NamespaceUsage(inode, pid, isInitial, entries, delta, dropTotal,
                    pod.map(PodResolver.PodRef::podUid), pod.flatMap(PodResolver.PodRef::containerId)));
        }
        if (unreadable > MAX_UNAVAILABLE_LINES) {
            unavailable.add("stats of " + (unreadable - MAX_UNAVAILABLE_LINES) + " more namespaces unreadable");
        }

        representatives = found;
        previousDrops = drops;
        podCache = podsNow;
        previousPassComplete = !capped;
        resumeAfterPid = capped ? lastLooked : 0;

        // Loops and plain comparators, no streams: a scan runs every few seconds, and on a quiet
        // node it stays interpreted for a long time, where a stream pipeline costs more than the
        // reads.
        namespaces.sort(INITIAL_FIRST_THEN_BY_ENTRIES);
        List<NamespaceUsage> withEntries = new ArrayList<>(namespaces.size());
        List<NamespaceUsage> dropping = new ArrayList<>(0);
        for (NamespaceUsage n : namespaces) {
            if (n.entries().isPresent()) {
                withEntries.add(n);
            }
            if (n.dropsDelta().orElse(0) > 0) {
                dropping.add(n);
            }
        }
        withEntries.sort(BY_ENTRIES);
        dropping.sort(BY_DROPS);
        List<NamespaceUsage> topByEntries = List.copyOf(withEntries.subList(0, Math.min(limits.topK(), withEntries.size())));
        List<NamespaceUsage> topByDrops = List.copyOf(dropping.subList(0, Math.min(limits.topK(), dropping.size())));
        return new NetnsScan(namespaces, topByEntries, topByDrops, initial, scanned, skippedThreads, capped,
                Duration.ofNanos(nanoTime.getAsLong() - start), unavailable);
    }

    /**
     * The initial namespace's inode, found once: pid 1 (or, where it cannot be inspected, this
     * process) does not change namespace while the agent runs.
     */
    private OptionalLong initialNamespace() {
        if (initialInode.isEmpty()) {
            OptionalLong inode = ProcPids.readInode(paths.netNamespace(1));
            initialInode = inode.isPresent() ? inode : ProcPids.readInode(paths.ownNetNamespace());
        }
        return initialInode;
    }
}
