package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.agent.core.NodeConditions;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.NamespaceSummary;
import dev.conntrack.kernel.CommandRunner;
import dev.conntrack.kernel.ConntrackStatsReader;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.NetnsScanner;
import dev.conntrack.kernel.PodNames;
import io.fabric8.kubernetes.api.model.Condition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NamespaceWatch on a fake /proc and /var/log/pods: pods are reported by name, not only by UID. */
class NamespaceWatchTest {
    private static final long HOST = 4026531840L;
    private static final long POD_A = 4026532300L;
    private static final long POD_B = 4026532400L;
    private static final String UID_A = "aaaaaaaa-0000-4000-8000-000000000001";
    private static final String UID_B = "bbbbbbbb-0000-4000-8000-000000000002";

    @TempDir
    Path root;

    private HostPaths paths;
    private NamespaceWatch watch;
    private long now;

    @BeforeEach
    void node() throws IOException {
        paths = new HostPaths(root);
        process(1, HOST, 100, 0, "0::/init.scope\n");
        process(200, POD_A, 300, 0, "0::/kubepods/besteffort/pod" + UID_A + "/" + "c".repeat(64) + "\n");
        process(300, POD_B, 50, 0, "0::/kubepods.slice/kubepods-pod" + UID_B.replace('-', '_') + ".slice/cri-containerd-" + "d".repeat(64) + ".scope\n");
        Files.createDirectories(paths.podLogs().resolve("shop_checkout-0_" + UID_A));
        // Pod B has no log folder (not mounted, say): it keeps its UID and gets no name.
        ConntrackStatsReader stats = new ConntrackStatsReader(paths, (command, timeout) -> new CommandRunner.Result(1, ""));
        watch = new NamespaceWatch(new NetnsScanner(paths, NetnsScanner.Limits.DEFAULT), stats, paths,
                new PodNames(paths, () -> now, Duration.ofSeconds(10), 100));
    }

    @Test
    void summariesNameThePodNextToItsUid() {
        watch.poll(now, false);
        List<NamespaceSummary> summaries = watch.summaries();

        NamespaceSummary a = summaries.stream().filter(s -> UID_A.equals(s.getPodUid())).findFirst().orElseThrow();
        assertThat(a.getPod()).isEqualTo("shop/checkout-0");
        NamespaceSummary b = summaries.stream().filter(s -> UID_B.equals(s.getPodUid())).findFirst().orElseThrow();
        assertThat(b.getPod()).isNull();
        NamespaceSummary host = summaries.stream().filter(s -> Boolean.TRUE.equals(s.getInitial())).findFirst().orElseThrow();
        assertThat(host.getPod()).isNull();
    }

    @Test
    void tableFullNamesTheDroppingPod() {
        watch.poll(now, false);
        stats(200, 1000, 40); // pod A's table fills and drops
        now += Duration.ofSeconds(6).toNanos(); // past the full-scan interval
        watch.poll(now, false);

        assertThat(watch.droppingText()).isEqualTo(" in network namespace net:[" + POD_A
                + "] (pid 200, pod shop/checkout-0 uid " + UID_A + ")");
        List<Condition> named = NodeConditions.namingNamespace(
                List.of(Conditions.of(NodeConditionTypes.TABLE_FULL, true, "DropsRising", "full", 1L)), watch.droppingText(), 1L);
        assertThat(Conditions.find(named, NodeConditionTypes.TABLE_FULL).getMessage())
                .contains("pod shop/checkout-0 uid " + UID_A);
    }

    @Test
    void aQuietPodsDropsAreSeenByTheFullScanEveryFiveSeconds() {
        watch.poll(now, false); // pod A, the larger table, is the one read on every poll
        stats(300, 50, 40); // pod B drops: only a full scan reads its counters
        now += Duration.ofSeconds(5).toNanos() - 1;
        watch.poll(now, false);
        assertThat(watch.droppingText()).as("no full scan before 5 s").isEmpty();

        now += 1;
        watch.poll(now, false);
        assertThat(watch.droppingText()).contains("net:[" + POD_B + "]");
    }

    @Test
    void aPodWithoutLogFolderIsNamedByUid() {
        watch.poll(now, false);
        stats(300, 1000, 40);
        now += Duration.ofSeconds(6).toNanos();
        watch.poll(now, false);

        assertThat(watch.droppingText()).isEqualTo(" in network namespace net:[" + POD_B + "] (pid 300, pod " + UID_B + ")");
    }

    private void process(long pid, long inode, long entries, long drop, String cgroup) {
        try {
            Path link = paths.netNamespace(pid);
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, Path.of("net:[" + inode + "]"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        stats(pid, entries, drop);
        FakeHost.write(paths.cgroup(pid), cgroup);
    }

    private void stats(long pid, long entries, long drop) {
        String header = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n";
        String cpu = String.format("%08x  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 %08x 00000000 00000000  00000000 00000000 00000000 00000000%n", entries, drop);
        FakeHost.write(paths.conntrackStats(pid), header + cpu);
    }
}
