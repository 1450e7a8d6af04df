package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NetnsScanner on a fake /proc tree: nsfs links are plain symlinks whose target reads "net:[INODE]". */
class NetnsScannerTest {
    private static final long HOST = 4026531840L;
    private static final long POD_A = 4026532300L;
    private static final long POD_B = 4026532400L;
    private static final String UID_A = "aaaaaaaa-0000-4000-8000-000000000001";
    private static final String UID_B = "bbbbbbbb-0000-4000-8000-000000000002";
    private static final String CONTAINER = "c".repeat(64);

    @TempDir
    Path root;

    private HostPaths paths;

    @BeforeEach
    void host() {
        paths = new HostPaths(root);
    }

    /** A process: its namespace link, its namespace's counters, its cgroup. */
    private void process(long pid, long inode, long entries, long drop, String cgroup) {
        link(paths.netNamespace(pid), inode);
        stats(pid, entries, drop);
        FakeHost.write(paths.cgroup(pid), cgroup);
    }

    private void link(Path link, long inode) {
        try {
            Files.createDirectories(link.getParent());
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, Path.of("net:[" + inode + "]"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The stats file as this kernel prints it: entries on every CPU line, drop split over the two CPUs. */
    private void stats(long pid, long entries, long drop) {
        String header = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n";
        String cpu0 = String.format("%08x  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 %08x 00000000 00000000  00000000 00000000 00000000 00000000%n", entries, drop / 2);
        String cpu1 = String.format("%08x  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 %08x 00000000 00000000  00000000 00000000 00000000 00000000%n", entries, drop - drop / 2);
        FakeHost.write(paths.conntrackStats(pid), header + cpu0 + cpu1);
    }

    private static String podCgroup(String uid) {
        return "0::/kubepods/besteffort/pod" + uid + "/" + CONTAINER + "\n";
    }

    /** kthreadd (pid 2) with children 3 and 4, all in the host namespace as on a real node. */
    private void kernelThreads() {
        FakeHost.write(paths.comm(2), "kthreadd\n");
        FakeHost.write(paths.children(2), "3 4 ");
        for (long pid : new long[] {2, 3, 4}) {
            process(pid, HOST, 10, 0, "0::/\n");
        }
    }

    /** The host (pids 1, 100), pod A (200, 201), pod B (300). */
    private void node() {
        kernelThreads();
        process(1, HOST, 120, 5, "0::/init.scope\n");
        process(100, HOST, 120, 5, "0::/system.slice/containerd.service\n");
        process(200, POD_A, 300, 0, podCgroup(UID_A));
        process(201, POD_A, 300, 0, podCgroup(UID_A));
        process(300, POD_B, 7, 0, podCgroup(UID_B));
    }

    @Test
    void oneEntryPerNamespaceWithItsCountersAndPod() {
        node();
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);

        NetnsScan scan = scanner.scan();

        assertThat(scan.initialInode()).hasValue(HOST);
        assertThat(scan.namespaces()).extracting(NamespaceUsage::inode).containsExactly(HOST, POD_A, POD_B);
        NamespaceUsage host = scan.namespaces().get(0);
        assertThat(host.isInitial()).isTrue();
        assertThat(host.pid()).isEqualTo(1);
        assertThat(host.entries()).hasValue(120);
        assertThat(host.dropsTotal()).hasValue(5);
        assertThat(host.podUid()).isEmpty();
        NamespaceUsage a = scan.byInode(POD_A).orElseThrow();
        assertThat(a.isInitial()).isFalse();
        assertThat(a.pid()).isEqualTo(200); // lowest pid: the pod's first process
        assertThat(a.entries()).hasValue(300);
        assertThat(a.podUid()).hasValue(UID_A);
        assertThat(a.containerId()).hasValue(CONTAINER);
        assertThat(scan.byInode(POD_B).orElseThrow().podUid()).hasValue(UID_B);
        assertThat(scan.topByEntries()).extracting(NamespaceUsage::inode).containsExactly(POD_A, HOST, POD_B);
        // kthreadd and its two children cost nothing; 1, 100, 200, 201, 300 one readlink each.
        assertThat(scan.kernelThreadsSkipped()).isEqualTo(3);
        assertThat(scan.pidsScanned()).isEqualTo(5);
        assertThat(scan.pidCapReached()).isFalse();
        assertThat(scan.unavailable()).isEmpty();
        // First pass: nothing to compare with.
        assertThat(scan.namespaces()).allSatisfy(n -> assertThat(n.dropsDelta()).isEmpty());
        assertThat(scan.topByDrops()).isEmpty();
    }

    @Test
    void dropsSinceThePreviousPassAreAttributedToTheirNamespace() {
        node();
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);
        scanner.scan();

        stats(200, 1000, 4321); // pod A's table filled up and dropped
        NetnsScan second = scanner.scan();

        assertThat(second.byInode(POD_A).orElseThrow().dropsDelta()).hasValue(4321);
        assertThat(second.byInode(POD_B).orElseThrow().dropsDelta()).hasValue(0);
        assertThat(second.byInode(HOST).orElseThrow().dropsDelta()).hasValue(0);
        assertThat(second.topByDrops()).extracting(NamespaceUsage::inode).containsExactly(POD_A);
        assertThat(second.topByEntries().get(0).inode()).isEqualTo(POD_A);

        NetnsScan third = scanner.scan();
        assertThat(third.byInode(POD_A).orElseThrow().dropsDelta()).hasValue(0);
        assertThat(third.byInode(POD_A).orElseThrow().dropsTotal()).hasValue(4321);
        assertThat(third.topByDrops()).isEmpty();
    }

    @Test
    void aNamespaceCreatedSinceACompletePassCountsAllItsDrops() {
        node();
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);
        scanner.scan();

        long podC = 4026532500L;
        process(400, podC, 50, 9, podCgroup("cccccccc-0000-4000-8000-000000000003"));
        NetnsScan scan = scanner.scan();

        assertThat(scan.byInode(podC).orElseThrow().dropsDelta()).hasValue(9);
    }

    @Test
    void aCounterThatWentDownGivesNoDelta() {
        node();
        stats(200, 300, 100);
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);
        scanner.scan();

        stats(200, 300, 40); // module reloaded, or the inode was reused by a new namespace
        assertThat(scanner.scan().byInode(POD_A).orElseThrow().dropsDelta()).isEmpty();
    }

    @Test
    void aRepresentativeThatDiedIsReplacedByAnotherProcessOfItsNamespace() {
        node();
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);
        scanner.scan();

        deleteProcess(200);
        NetnsScan scan = scanner.scan();

        NamespaceUsage a = scan.byInode(POD_A).orElseThrow();
        assertThat(a.pid()).isEqualTo(201);
        assertThat(a.dropsDelta()).hasValue(0); // still the same namespace: history kept
        assertThat(a.podUid()).hasValue(UID_A);
    }

    @Test
    void initialNamespaceFallsBackToOurOwnWhenPidOneIsHidden() {
        node();
        deleteProcess(1); // as in sandboxes that deny readlink of /proc/1/ns/net
        link(paths.ownNetNamespace(), HOST);

        NetnsScan scan = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT).scan();

        assertThat(scan.initialInode()).hasValue(HOST);
        assertThat(scan.byInode(HOST).orElseThrow().isInitial()).isTrue();
        assertThat(scan.byInode(HOST).orElseThrow().pid()).isEqualTo(100);
    }

    @Test
    void pid2IsOnlyTrustedAsKthreaddWhenItIsCalledSo() {
        node();
        FakeHost.write(paths.comm(2), "bash\n"); // an agent in its own pid namespace

        NetnsScan scan = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT).scan();

        assertThat(scan.kernelThreadsSkipped()).isZero();
        assertThat(scan.pidsScanned()).isEqualTo(8);
    }

    @Test
    void thePidCapBoundsAPassAndLaterPassesReachTheRest() {
        kernelThreads();
        process(1, HOST, 1, 0, "0::/\n");
        Set<Long> all = new HashSet<>(List.of(HOST));
        for (int i = 0; i < 20; i++) {
            long inode = 4026533000L + i;
            process(1000 + i, inode, i, 0, "0::/\n");
            all.add(inode);
        }
        NetnsScanner scanner = new NetnsScanner(paths, new NetnsScanner.Limits(6, 3));

        Set<Long> seen = new HashSet<>();
        NetnsScan scan = null;
        for (int pass = 0; pass < 10 && !seen.equals(all); pass++) {
            scan = scanner.scan();
            assertThat(scan.pidsScanned()).isLessThanOrEqualTo(6);
            assertThat(scan.topByEntries()).hasSizeLessThanOrEqualTo(3);
            seen.addAll(scan.namespaces().stream().map(NamespaceUsage::inode).collect(Collectors.toSet()));
        }

        assertThat(seen).isEqualTo(all);
        assertThat(scan.pidCapReached()).isTrue();
    }

    @Test
    void unreadableCountersAreNamedAndVanishedProcessesSkipped() {
        node();
        try {
            Files.delete(paths.conntrackStats(300));
            Files.createDirectories(root.resolve("proc/555")); // listed, then gone before readlink
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }

        NetnsScan scan = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT).scan();

        NamespaceUsage b = scan.byInode(POD_B).orElseThrow();
        assertThat(b.entries()).isEmpty();
        assertThat(b.dropsTotal()).isEmpty();
        assertThat(scan.unavailable()).singleElement().asString()
                .startsWith("stats of pid 300: /proc/300/net/stat/nf_conntrack unreadable");
        assertThat(scan.topByEntries()).extracting(NamespaceUsage::inode).doesNotContain(POD_B);
        assertThat(scan.namespaces()).hasSize(3);
    }

    @Test
    void aProcessSeenInTheSameNamespaceTwiceIsNotReadAgainUntilTheFullPass() {
        node();
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);
        assertThat(scanner.scan().pidsScanned()).isEqualTo(5);
        // Representatives (1, 200, 300) are checked every pass; 100 and 201 are read a second time.
        assertThat(scanner.scan().pidsScanned()).isEqualTo(5);
        // Now settled: only the representatives.
        NetnsScan third = scanner.scan();
        assertThat(third.pidsScanned()).isEqualTo(3);
        assertThat(third.namespaces()).extracting(NamespaceUsage::inode).containsExactly(HOST, POD_A, POD_B);

        // A settled process that moves (rare after start-up) is seen at the next full pass at the latest.
        link(paths.netNamespace(100), POD_B);
        deleteProcess(1);
        link(paths.ownNetNamespace(), HOST);
        int pass = 3;
        boolean moved = false;
        // A full pass every 12 scans: once a minute at the 5 s scan interval.
        for (; pass <= 12 && !moved; pass++) {
            NetnsScan scan = scanner.scan();
            moved = scan.byInode(HOST).isEmpty() || scan.byInode(HOST).orElseThrow().pid() != 100;
        }
        assertThat(moved).isTrue();
        assertThat(pass).isEqualTo(13);
    }

    @Test
    void aNewProcessThatChangesNamespaceRightAfterItStartsIsFollowed() {
        node();
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);
        scanner.scan();
        // Caught between fork and setns (runc init, ip netns exec): first read in the host namespace.
        process(400, HOST, 120, 5, "0::/\n");
        scanner.scan();
        // It joins a new namespace, with nothing else in it; the next pass reads it again.
        long podC = 4026532500L;
        process(400, podC, 42, 0, podCgroup(UID_B));
        NetnsScan scan = scanner.scan();
        assertThat(scan.byInode(podC)).hasValueSatisfying(n -> assertThat(n.entries()).hasValue(42));
    }

    @Test
    void aReusedPidIsReadAfresh() {
        node();
        NetnsScanner scanner = new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT);
        scanner.scan();
        scanner.scan(); // 100 settled in the host namespace
        deleteProcess(100);
        scanner.scan(); // gone from the listing: forgotten
        long podC = 4026532500L;
        process(100, podC, 9, 0, podCgroup(UID_B)); // the pid comes back as another process
        NetnsScan scan = scanner.scan();
        assertThat(scan.byInode(podC)).hasValueSatisfying(n -> assertThat(n.pid()).isEqualTo(100));
    }

    @Test
    void nsfsLinkTargetsAreParsedStrictly() {
        assertThat(ProcPids.parseInode("net:[4026531840]")).hasValue(4026531840L);
        assertThat(ProcPids.parseInode("mnt:[4026531840]")).isEmpty();
        assertThat(ProcPids.parseInode("net:[abc]")).isEmpty();
        assertThat(ProcPids.parseInode("net:")).isEmpty();
    }

    private void deleteProcess(long pid) {
        try (var walk = Files.walk(root.resolve("proc").resolve(Long.toString(pid)))) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
