package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemInfoTest {
    @TempDir
    Path root;

    @Test
    void memAvailableInBytes() {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().meminfo(), "MemTotal:       24684000 kB\nMemFree:        22359040 kB\nMemAvailable:   23762000 kB\nBuffers:           1000 kB\n");

        assertThat(MemInfo.memAvailable(host.paths())).hasValue(23_762_000L * 1024);
    }

    @Test
    void missingFileOrLineIsEmpty() {
        FakeHost host = FakeHost.empty(root);
        assertThat(MemInfo.memAvailable(host.paths())).isEmpty();
        assertThat(MemInfo.parseMemAvailable("MemTotal: 1 kB\nMemFree: 1 kB\n")).isEmpty();
        assertThat(MemInfo.parseMemAvailable("MemAvailable: lots kB\n")).isEmpty();
    }
}
