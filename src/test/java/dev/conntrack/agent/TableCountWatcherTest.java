package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.kernel.FakeHost;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TableCountWatcherTest {

    @Test
    void readsTheLargerOfTheNodeCountAndTheHottestNamespaceEntries(@TempDir Path dir) {
        Path count = dir.resolve("nf_conntrack_count");
        Path stats = dir.resolve("stat");
        FakeHost.write(count, "12\n");
        FakeHost.write(stats, FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        try (TableCountWatcher watcher = new TableCountWatcher(count, () -> 1000, () -> 80, (c, g) -> { })) {
            assertThat(watcher.readCount()).isEqualTo(12);
            watcher.watchNamespace(stats);
            assertThat(watcher.readCount()).isEqualTo(0x3e8);
            FakeHost.write(count, "4321\n");
            assertThat(watcher.readCount()).isEqualTo(4321);
            watcher.watchNamespace(dir.resolve("gone"));
            assertThat(watcher.readHotEntries()).isEqualTo(-1);
            assertThat(watcher.readCount()).isEqualTo(4321);
        }
    }

    @Test
    void missingCountFileIsUnknownNotZero(@TempDir Path dir) {
        try (TableCountWatcher watcher = new TableCountWatcher(dir.resolve("absent"), () -> 1000, () -> 80, (c, g) -> { })) {
            assertThat(watcher.readCount()).isEqualTo(-1);
        }
    }

    @Test
    void pollsFasterAsTheTableFills() {
        // A large table with room: the slowest interval.
        assertThat(TableCountWatcher.intervalMillis(0, 262144, 80, 0)).isEqualTo(10);
        // An empty 5,000-entry table reaches its watermark in 16 ms at the assumed storm: half of it.
        assertThat(TableCountWatcher.intervalMillis(0, 5000, 80, 0)).isEqualTo(8);
        assertThat(TableCountWatcher.intervalMillis(2500, 5000, 80, 0)).isEqualTo(3);
        assertThat(TableCountWatcher.intervalMillis(3500, 5000, 80, 0)).isEqualTo(2);
        assertThat(TableCountWatcher.intervalMillis(0, 1000, 80, 0)).isEqualTo(2);
        assertThat(TableCountWatcher.intervalMillis(0, 5000, 30, 0)).isEqualTo(3);
        // Above the watermark (a raise is on its way or held at a bound): the fastest.
        assertThat(TableCountWatcher.intervalMillis(4500, 5000, 80, 0)).isEqualTo(2);
    }

    @Test
    void aMeasuredGrowthFasterThanTheAssumedStormShortensTheInterval() {
        assertThat(TableCountWatcher.intervalMillis(0, 10000, 80, 0)).isEqualTo(10);
        assertThat(TableCountWatcher.intervalMillis(0, 10000, 80, 1_000_000)).isEqualTo(4);
    }

    @Test
    void growthIsEntriesPerSecondSinceThePreviousReadAndNeverNegative() {
        assertThat(TableCountWatcher.growthPerSecond(1000, 0, 1200, 10_000_000)).isEqualTo(20_000.0);
        assertThat(TableCountWatcher.growthPerSecond(1200, 0, 1000, 10_000_000)).isZero();
        assertThat(TableCountWatcher.growthPerSecond(-1, 0, 1000, 10_000_000)).isZero();
        assertThat(TableCountWatcher.growthPerSecond(1000, 5, 1200, 5)).isZero();
    }

    @Test
    void aDisarmedWatcherReadsNothingUntilArmed(@TempDir Path dir) throws InterruptedException {
        Path count = dir.resolve("nf_conntrack_count");
        FakeHost.write(count, "12\n");
        AtomicLong watermark = new AtomicLong(0);
        AtomicInteger reads = new AtomicInteger();
        try (TableCountWatcher watcher = new TableCountWatcher(count, () -> 100_000, watermark::get, (c, g) -> reads.incrementAndGet())) {
            watcher.start();
            Thread.sleep(300);
            assertThat(reads.get()).as("no reads while auto-raise is off").isZero();
            watermark.set(80);
            watcher.arm();
            // Without arm() the first read would come after the 30 s disarmed park.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (reads.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(reads.get()).isPositive();
        }
    }
}
