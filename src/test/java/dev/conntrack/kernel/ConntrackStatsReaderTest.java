package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConntrackStatsReaderTest {

    @TempDir
    Path root;

    private final List<List<String>> commandsRun = new ArrayList<>();

    private CommandRunner printing(String stdout) {
        return (command, timeout) -> {
            commandsRun.add(command);
            return new CommandRunner.Result(0, stdout);
        };
    }

    private CommandRunner notInstalled() {
        return (command, timeout) -> {
            commandsRun.add(command);
            throw new IOException("Cannot run program \"conntrack\": error=2, No such file or directory");
        };
    }

    @Test
    void readsTheProcfsFileWithoutRunningAnything() {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().conntrackStats(), FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));

        StatsReading reading = new ConntrackStatsReader(host.paths(), notInstalled()).read();

        assertThat(reading.unavailable()).isEmpty();
        assertThat(reading.stats()).get().extracting(s -> s.drop().getAsLong()).isEqualTo(0x3c70L + 0x1fa19L);
        assertThat(commandsRun).isEmpty();
    }

    /** nf_conntrack loaded (nf_conntrack_max exists) on a kernel without its procfs stats file. */
    private FakeHost loadedWithoutProcfs() {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().conntrackMax(), "262144\n");
        return host;
    }

    @Test
    void theModuleLoadedAfterTheStartIsFoundWithoutEverRunningAProcess() {
        FakeHost host = FakeHost.empty(root);
        ConntrackStatsReader reader = new ConntrackStatsReader(host.paths(), notInstalled());
        for (int i = 0; i < 3; i++) {
            assertThat(reader.read().unavailable()).singleElement().asString().contains("nf_conntrack is not loaded");
        }
        // kube-proxy loads the module later.
        FakeHost.write(host.paths().conntrackMax(), "262144\n");
        FakeHost.write(host.paths().conntrackStats(), FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        assertThat(reader.read().stats()).isPresent();
        assertThat(commandsRun).isEmpty();
    }

    @Test
    void theNetlinkFallbackRunsAtMostOncePerIntervalNotEveryPoll() {
        ConntrackStatsReader reader = new ConntrackStatsReader(loadedWithoutProcfs().paths(),
                printing(FakeHost.fixture("conntrack-S.table-full.txt")));
        for (int i = 0; i < 5; i++) {
            assertThat(reader.read().stats()).isPresent();
        }
        assertThat(commandsRun).hasSize(1);
    }

    @Test
    void missingProcfsFileFallsBackToConntrackS() {
        FakeHost host = loadedWithoutProcfs();
        ConntrackStatsReader reader = new ConntrackStatsReader(host.paths(), printing(FakeHost.fixture("conntrack-S.table-full.txt")));

        StatsReading reading = reader.read();

        assertThat(reading.unavailable()).isEmpty();
        assertThat(reading.stats()).get().extracting(ConntrackStats::source).isEqualTo(ConntrackStats.Source.NETLINK);
        assertThat(reading.stats().get().drop()).hasValue(145033);
        assertThat(commandsRun).containsExactly(List.of("conntrack", "-S"));
    }

    @Test
    void missingFileAndNoConntrackCommandIsUnavailable() {
        FakeHost host = loadedWithoutProcfs();

        StatsReading reading = new ConntrackStatsReader(host.paths(), notInstalled()).read();

        assertThat(reading.stats()).isEmpty();
        assertThat(reading.unavailable()).singleElement().asString()
                .startsWith("stats: /proc/net/stat/nf_conntrack missing and conntrack -S unavailable")
                .contains("No such file or directory");
    }

    @Test
    void failingConntrackCommandIsUnavailable() {
        FakeHost host = loadedWithoutProcfs();
        CommandRunner failing = (command, timeout) -> new CommandRunner.Result(1, "");
        StatsReading reading = new ConntrackStatsReader(host.paths(), failing).read();
        assertThat(reading.unavailable()).singleElement().asString().contains("conntrack -S failed (exit 1)");
    }

    @Test
    void malformedProcfsFileIsUnavailableNotAnException() {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().conntrackStats(), "entries drop\n00000001\n");
        StatsReading reading = new ConntrackStatsReader(host.paths(), notInstalled()).read();
        assertThat(reading.stats()).isEmpty();
        assertThat(reading.unavailable()).singleElement().asString().contains("malformed");
        assertThat(commandsRun).isEmpty();
    }

    @Test
    void readsAnotherNamespaceThroughItsPid() {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().conntrackStats(4242), "entries drop\n00000002 00000003\n00000002 00000004\n");
        ConntrackStatsReader reader = new ConntrackStatsReader(host.paths(), notInstalled());

        assertThat(reader.read(4242).stats()).get().extracting(s -> s.drop().getAsLong()).isEqualTo(7L);
        StatsReading gone = reader.read(4243);
        assertThat(gone.stats()).isEmpty();
        assertThat(gone.unavailable()).singleElement().asString()
                .startsWith("stats of pid 4243: /proc/4243/net/stat/nf_conntrack unreadable");
        assertThat(commandsRun).isEmpty();
    }
}
