package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.kernel.FakeHost;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TableCountWatcherTest {

    @Test
    void readsTheLargerOfTheNodeCountAndTheHottestNamespaceEntries(@TempDir Path dir) {
        Path count = dir.resolve("nf_conntrack_count");
        Path stats = dir.resolve("stat");
        FakeHost.write(count, "12\n");
        FakeHost.write(stats, FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        try (TableCountWatcher watcher = new TableCountWatcher(count, () -> 1000, () -> 80, c -> { })) {
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
        try (TableCountWatcher watcher = new TableCountWatcher(dir.resolve("absent"), () -> 1000, () -> 80, c -> { })) {
            assertThat(watcher.readCount()).isEqualTo(-1);
        }
    }

    @Test
    void pollsFasterAsTheTableFills() {
        assertThat(TableCountWatcher.intervalMillis(100, 1000, 80)).isEqualTo(10);
        assertThat(TableCountWatcher.intervalMillis(400, 1000, 80)).isEqualTo(2);
        assertThat(TableCountWatcher.intervalMillis(200, 1000, 30)).isEqualTo(2);
    }
}
