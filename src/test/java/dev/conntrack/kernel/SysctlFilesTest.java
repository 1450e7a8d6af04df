package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SysctlFilesTest {

    @TempDir
    Path root;

    @Test
    void readsTrimmedValue() {
        FakeHost host = FakeHost.withConntrack(root);
        host.set(ConntrackKey.MAX, "  262144\t");
        assertThat(new SysctlFiles(host.paths()).read(ConntrackKey.MAX).value()).isEqualTo("262144");
    }

    @Test
    void writesValueWithNewlineReplacingTheOldContent() {
        FakeHost host = FakeHost.withConntrack(root);
        host.set(ConntrackKey.TCP_ESTABLISHED, "432000");
        SysctlFiles files = new SysctlFiles(host.paths());

        WriteResult result = files.write(ConntrackKey.TCP_ESTABLISHED, "86400");

        assertThat(result.ok()).isTrue();
        assertThat(host.rawLive(ConntrackKey.TCP_ESTABLISHED)).isEqualTo("86400\n");
        assertThat(files.read(ConntrackKey.TCP_ESTABLISHED).value()).isEqualTo("86400");
    }

    @Test
    void bucketsGoToHashsize() {
        FakeHost host = FakeHost.withConntrack(root);
        assertThat(new SysctlFiles(host.paths()).write(ConntrackKey.BUCKETS, "131072").ok()).isTrue();
        assertThat(FakeHost.read(host.paths().hashsize())).isEqualTo("131072\n");
        assertThat(host.rawLive(ConntrackKey.BUCKETS)).isEqualTo("65536\n");
    }

    @Test
    void missingFileIsNotFoundAndIsNotCreated() {
        FakeHost host = FakeHost.empty(root);
        SysctlFiles files = new SysctlFiles(host.paths());

        WriteResult write = files.write(ConntrackKey.MAX, "131072");
        ReadResult read = files.read(ConntrackKey.MAX);

        assertThat(write.ok()).isFalse();
        assertThat(write.failure().reason()).isEqualTo(FailureReason.NotFound);
        assertThat(read.ok()).isFalse();
        assertThat(read.failure().reason()).isEqualTo(FailureReason.NotFound);
        assertThat(Files.exists(ConntrackKey.MAX.writePath(host.paths()))).isFalse();
    }

    @Test
    void aDirectoryInPlaceOfTheFileIsAFailureNotAnException() throws Exception {
        FakeHost host = FakeHost.empty(root);
        Files.createDirectories(ConntrackKey.UDP.writePath(host.paths()));
        WriteResult write = new SysctlFiles(host.paths()).write(ConntrackKey.UDP, "30");
        assertThat(write.ok()).isFalse();
        assertThat(write.failure().errnoText()).isNotEmpty();
    }

    @Test
    void refusesValuesThatCouldSmuggleASecondWrite() {
        FakeHost host = FakeHost.withConntrack(root);
        SysctlFiles files = new SysctlFiles(host.paths());
        WriteResult result = files.write(ConntrackKey.MAX, "1\n2");
        assertThat(result.ok()).isFalse();
        assertThat(result.failure().reason()).isEqualTo(FailureReason.InvalidValue);
        assertThat(files.write(ConntrackKey.MAX, "").ok()).isFalse();
        assertThat(host.rawLive(ConntrackKey.MAX)).isEqualTo("262144\n");
    }
}
