package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.agent.core.CountWatch;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.kernel.FakeHost;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TableCountWatcherTest {
    private static final String STATS_HEADER = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n";

    private static AutoscaleSpec autoscale() {
        AutoscaleSpec a = new AutoscaleSpec();
        a.setEnabled(true);
        a.setCeiling(262144);
        return a;
    }

    /** A stats file of two CPUs, the first holding all the drops (the entries column repeats on each line). */
    static String stats(long entries, long drops) {
        String[] columns = STATS_HEADER.trim().split("\\s+");
        StringBuilder out = new StringBuilder(STATS_HEADER);
        for (int cpu = 0; cpu < 2; cpu++) {
            for (String column : columns) {
                long v = column.equals("entries") ? entries : column.equals("drop") && cpu == 0 ? drops : 0;
                out.append(String.format("%08x ", v));
            }
            out.append('\n');
        }
        return out.toString();
    }

    @Test
    void readsTheLargerOfTheNodeCountAndTheHottestNamespaceEntries(@TempDir Path dir) {
        Path count = dir.resolve("nf_conntrack_count");
        Path stats = dir.resolve("stat");
        FakeHost.write(count, "12\n");
        FakeHost.write(stats, FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        try (TableCountWatcher watcher = new TableCountWatcher(count, null, null, rescan -> { })) {
            assertThat(watcher.readCount()).isEqualTo(12);
            watcher.watchNamespace(stats);
            assertThat(watcher.readCount()).isEqualTo(0x3e8);
            FakeHost.write(count, "4321\n");
            assertThat(watcher.readCount()).isEqualTo(4321);
            watcher.watchNamespace(dir.resolve("gone"));
            assertThat(watcher.readCount()).isEqualTo(4321);
        }
    }

    @Test
    void missingCountFileIsUnknownNotZero(@TempDir Path dir) {
        try (TableCountWatcher watcher = new TableCountWatcher(dir.resolve("absent"), null, null, rescan -> { })) {
            assertThat(watcher.readCount()).isEqualTo(-1);
        }
    }

    @Test
    void growthIsEntriesPerSecondSinceThePreviousReadAndNeverNegative() {
        assertThat(TableCountWatcher.growthPerSecond(1000, 0, 1200, 10_000_000)).isEqualTo(20_000.0);
        assertThat(TableCountWatcher.growthPerSecond(1200, 0, 1000, 10_000_000)).isZero();
        assertThat(TableCountWatcher.growthPerSecond(-1, 0, 1000, 10_000_000)).isZero();
        assertThat(TableCountWatcher.growthPerSecond(1000, 5, 1200, 5)).isZero();
    }

    @Test
    void aDisarmedWatcherReadsNothingUntilArmed(@TempDir Path dir) {
        Path count = dir.resolve("nf_conntrack_count");
        FakeHost.write(count, "90000\n");
        AtomicInteger wakes = new AtomicInteger();
        try (TableCountWatcher watcher = new TableCountWatcher(count, null, null, rescan -> wakes.incrementAndGet())) {
            Thread t = new Thread(watcher::run, "conntrack-count-watch");
            t.setDaemon(true);
            t.start();
            // Parked: the disarmed loop has run and read nothing (a read of 90% would wake once armed).
            await().atMost(Duration.ofSeconds(5)).until(() -> t.getState() == Thread.State.TIMED_WAITING);
            assertThat(wakes.get()).as("no reads while disarmed").isZero();
            assertThat(watcher.growthPerSecond()).isZero();
            watcher.rule(new CountWatch(true, 100_000, autoscale(), 80, false));
            // Without arming the first read would come after the 30 s disarmed park.
            await("90% of max with auto-raise on: due").atMost(Duration.ofSeconds(5)).until(() -> wakes.get() > 0);
        }
    }

    @Test
    void wakesThePollOncePerRuleOnNewDropsAndNotWhileTableFullIsKnown(@TempDir Path dir) {
        Path count = dir.resolve("nf_conntrack_count");
        Path stats = dir.resolve("stat");
        FakeHost.write(count, "1000\n");
        FakeHost.write(stats, stats(1000, 5));
        List<Boolean> wakes = new ArrayList<>();
        try (TableCountWatcher watcher = new TableCountWatcher(count, null, stats, wakes::add)) {
            CountWatch watching = new CountWatch(true, 1000, null, 80, false);
            // Detection only (no auto-raise): an interval between 10 and 100 ms.
            assertThat(watcher.tick(watching)).isBetween(10L, 100L);
            assertThat(wakes).as("the first read is the baseline: 5 old drops wake nobody").isEmpty();
            FakeHost.write(stats, stats(1000, 9));
            watcher.tick(watching);
            assertThat(wakes).containsExactly(false);
            FakeHost.write(stats, stats(1000, 20));
            watcher.tick(watching);
            assertThat(wakes).as("once per rule: the poll it woke sets the next").hasSize(1);

            CountWatch known = new CountWatch(true, 1000, null, 80, true);
            watcher.tick(known);
            FakeHost.write(stats, stats(1000, 40));
            watcher.tick(known);
            assertThat(wakes).as("TableFull already reported: the poll paces itself").hasSize(1);
        }
    }
}
